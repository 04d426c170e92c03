// Go 1.20-1.21's context additions: WithCancelCause and Cause, WithTimeoutCause, the parent's
// cause reaching its children, AfterFunc (run, and stopped in time), WithoutCancel.
// mode: deterministic
package main

import (
	"context"
	"errors"
	"fmt"
	"syscall"
	"time"
	"unsafe"
)

func main() {
	bg := context.Background()
	ctx, cancel := context.WithCancelCause(bg)
	child, stopChild := context.WithCancel(ctx)
	defer stopChild()
	say("before:", ctx.Err(), context.Cause(ctx))
	cancel(errors.New("shutting down"))
	<-child.Done()
	say("after:", ctx.Err(), "|", context.Cause(ctx), "| child:", child.Err(), "|", context.Cause(child))
	cancel(errors.New("again"))
	say("first cause stays:", context.Cause(ctx))

	c2, cancel2 := context.WithCancelCause(bg)
	cancel2(nil)
	say("nil cause:", context.Cause(c2))

	tctx, tcancel := context.WithTimeoutCause(bg, 200*time.Millisecond, errors.New("too slow"))
	defer tcancel()
	<-tctx.Done()
	say("timeout:", tctx.Err(), "|", context.Cause(tctx))

	actx, acancel := context.WithCancel(bg)
	ran := make(chan string)
	context.AfterFunc(actx, func() { ran <- "after func ran" })
	stop := context.AfterFunc(actx, func() { ran <- "BUG: stopped func ran" })
	say("stop:", stop(), stop())
	acancel()
	say(<-ran)

	vctx := context.WithValue(bg, "k", "v")
	pctx, pcancel := context.WithCancel(vctx)
	wctx := context.WithoutCancel(pctx)
	pcancel()
	_, hasDeadline := wctx.Deadline()
	say("without cancel:", pctx.Err(), wctx.Err(), wctx.Value("k"), wctx.Done() == nil, hasDeadline)
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
