// The nil channel: len and cap 0, never chosen by select, try-operations fail; a goroutine
// blocked on it forever does not stop main from ending normally.
// mode: deterministic
package main

import (
	"fmt"
	"syscall"
	"unsafe"
)

func main() {
	var nilc chan int
	say("len", len(nilc), "cap", cap(nilc))
	select {
	case nilc <- 1:
		say("BUG: sent on nil")
	default:
		say("send on nil would block")
	}
	select {
	case v := <-nilc:
		say("BUG: received", v)
	default:
		say("receive on nil would block")
	}
	ready := make(chan int, 1)
	for i := 0; i < 5; i++ {
		ready <- i
		select {
		case <-nilc:
			say("BUG: nil receive chosen")
		case nilc <- i:
			say("BUG: nil send chosen")
		case v := <-ready:
			say("only the ready case:", v)
		}
	}
	// goroutines blocked forever on the nil channel
	started := make(chan bool)
	go func() { started <- true; nilc <- 1; say("BUG") }()
	go func() { started <- true; <-nilc; say("BUG") }()
	go func() { started <- true; select {}; say("BUG") }()
	<-started
	<-started
	<-started
	// a select whose only non-nil case becomes ready later
	c := make(chan int)
	go func() { c <- 42 }()
	select {
	case <-nilc:
		say("BUG")
	case v := <-c:
		say("late case:", v)
	}
	say("main returns with goroutines parked on nil")
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
