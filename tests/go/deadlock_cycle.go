// Deadlock: goroutines waiting on each other in a cycle, in plain operations and in a select,
// with main waiting for them.
// mode: deadlock
package main

import (
	"fmt"
	"syscall"
	"unsafe"
)

func main() {
	a := make(chan int)
	b := make(chan int)
	c := make(chan int, 1)
	done := make(chan bool)
	go func() { <-a; b <- 1; done <- true }()
	go func() { <-b; a <- 1; done <- true }()
	go func() {
		c <- 1
		select {
		case c <- 2:
		case <-a:
		}
		done <- true
	}()
	go func() { c <- 3; c <- 4; done <- true }()
	say("main waits for four goroutines")
	<-done
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
