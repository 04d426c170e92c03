// The errgroup pattern (golang.org/x/sync/errgroup is not in the standard library, and the tests
// build offline, so this program carries a small group of its own with errgroup's documented
// behaviour): the first error wins and cancels the group's context with that error as its cause,
// a limit bounds the active goroutines, TryGo refuses when the limit is reached, and Wait
// cancels the context too.
// mode: deterministic
package main

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"syscall"
	"unsafe"
)

type group struct {
	wg     sync.WaitGroup
	sem    chan struct{}
	once   sync.Once
	err    error
	cancel context.CancelCauseFunc
}

func withContext(parent context.Context) (*group, context.Context) {
	derived, cancel := context.WithCancelCause(parent)
	return &group{cancel: cancel}, derived
}

func (g *group) setLimit(n int) { g.sem = make(chan struct{}, n) }

func (g *group) run(f func() error) {
	defer func() {
		if g.sem != nil {
			<-g.sem
		}
		g.wg.Done()
	}()
	if err := f(); err != nil {
		g.once.Do(func() {
			g.err = err
			if g.cancel != nil {
				g.cancel(err)
			}
		})
	}
}

func (g *group) Go(f func() error) {
	if g.sem != nil {
		g.sem <- struct{}{}
	}
	g.wg.Add(1)
	go g.run(f)
}

func (g *group) TryGo(f func() error) bool {
	if g.sem != nil {
		select {
		case g.sem <- struct{}{}:
		default:
			return false
		}
	}
	g.wg.Add(1)
	go g.run(f)
	return true
}

func (g *group) Wait() error {
	g.wg.Wait()
	if g.cancel != nil {
		g.cancel(g.err)
	}
	return g.err
}

func main() {
	g, ctx := withContext(context.Background())
	results := make([]string, 5)
	for i := 0; i < 5; i++ {
		i := i // the test module says go 1.21: one i per iteration only by copying
		g.Go(func() error {
			if i == 2 {
				say("task", i, "fails")
				return errors.New("task 2 failed")
			}
			select {
			case <-ctx.Done():
				results[i] = "canceled"
			default:
				results[i] = "ran"
			}
			say("task", i, results[i])
			return nil
		})
	}
	err := g.Wait()
	say("wait:", err, "| ctx:", ctx.Err(), "| cause:", context.Cause(ctx))
	say(results)

	g2, ctx2 := withContext(context.Background())
	g2.setLimit(2)
	release := make(chan struct{})
	active, peak := 0, 0
	work := func() error {
		active++
		if active > peak {
			peak = active
		}
		<-release
		active--
		return nil
	}
	say("try", g2.TryGo(work), g2.TryGo(work), g2.TryGo(work))
	go func() {
		for i := 0; i < 4; i++ {
			release <- struct{}{}
		}
	}()
	g2.Go(work)
	g2.Go(work)
	say("wait:", g2.Wait(), "peak", peak, "| ctx:", ctx2.Err(), "| cause:", context.Cause(ctx2))
}

// say prints its arguments as fmt.Println does, with a raw write(2): a raw system call keeps
// the P, so printing never lets Go's sysmon hand the P to another thread and requeue the
// printer on the global run queue (which would make the transcript depend on timing).
func say(a ...any) {
	b := []byte(fmt.Sprintln(a...))
	for len(b) > 0 {
		n, _, errno := syscall.RawSyscall(syscall.SYS_WRITE, 1, uintptr(unsafe.Pointer(&b[0])), uintptr(len(b)))
		if errno != 0 && errno != syscall.EINTR && errno != syscall.EAGAIN {
			panic(errno)
		}
		if errno == 0 {
			b = b[n:]
		}
	}
}
