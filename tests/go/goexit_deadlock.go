// main calls runtime.Goexit: its deferred calls run, the other goroutine runs to completion,
// and then the program dies of "no goroutines (main called runtime.Goexit) - deadlock!".
// (One other goroutine only: after main's Goexit, Go's order of several is not reproducible.)
// mode: fatal
package main

import (
	"fmt"
	"runtime"
	"syscall"
	"unsafe"
)

func main() {
	c := make(chan int, 3)
	for i := 0; i < 3; i++ {
		c <- i
	}
	go func() {
		for i := 0; i < 3; i++ {
			say("drained", <-c)
		}
		say("worker ends")
	}()
	defer say("main's deferred call runs")
	runtime.Goexit()
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
