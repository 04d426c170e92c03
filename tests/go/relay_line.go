// Many goroutines, set up and torn down cleanly: a line of 10000 stages, each parked on its
// own unbuffered input, passes a counter along, adding one. The tail must read the line's
// length, and once it has, every stage has exited: only main is left.
// mode: deterministic
package main

import (
	"fmt"
	"runtime"
	"syscall"
	"unsafe"
)

const stages = 10000

func stage(in <-chan int, out chan<- int) {
	out <- 1 + <-in
}

func main() {
	head := make(chan int)
	in := head
	for i := 0; i < stages; i++ {
		out := make(chan int)
		go stage(in, out)
		in = out
	}
	runtime.Gosched() // every stage runs once and parks on its input
	say("alive before", runtime.NumGoroutine())
	head <- 0
	say("tail read", <-in)
	for tries := 0; runtime.NumGoroutine() > 1 && tries < 100; tries++ {
		runtime.Gosched() // a stage preempted just before it returned gets to finish
	}
	say("alive after", runtime.NumGoroutine())
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
