// A select takes only a case that is ready, and a select that parked on several channels
// leaves nothing behind on the channels whose cases lost: later waiters on those channels
// are served first in line, as if the select had never been there.
// mode: deterministic
package main

import (
	"fmt"
	"runtime"
	"sort"
	"syscall"
	"unsafe"
)

func readyOnly(rounds int) {
	ready := make(chan int, 1)
	idle := make(chan int)
	won := 0
	for i := 0; i < rounds; i++ {
		ready <- i
		select {
		case <-idle:
			panic("idle case won")
		case v := <-ready:
			if v == i {
				won++
			}
		}
	}
	say("ready case won", won, "of", rounds)
}

// noneLeftBehind parks a select on x and y, then two plain receivers on x behind it. The
// select wins on y; the next two sends on x must reach the plain receivers, in their order.
func noneLeftBehind() {
	x, y := make(chan int), make(chan int)
	report := make(chan string, 3)
	go func() {
		select {
		case v := <-x:
			report <- fmt.Sprint("select took x ", v)
		case v := <-y:
			report <- fmt.Sprint("select took y ", v)
		}
	}()
	runtime.Gosched()
	for _, name := range []string{"first", "second"} {
		go func(name string) { report <- fmt.Sprint(name, " receiver took x ", <-x) }(name)
		runtime.Gosched()
	}
	y <- 1
	x <- 2
	x <- 3
	lines := []string{<-report, <-report, <-report}
	sort.Strings(lines) // who reports first is the scheduler's business, not this test's
	for _, line := range lines {
		say(line)
	}
}

func defaults() {
	select {
	default:
		say("a select with only a default runs it")
	}
	var none chan int
	select {
	case none <- 1:
		panic("sent on nil")
	default:
		say("a send on nil with a default takes the default")
	}
}

func main() {
	readyOnly(50)
	noneLeftBehind()
	defaults()
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
