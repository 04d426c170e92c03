// Go's channel panics, recovered, with their exact messages: close of a nil channel, close of a
// closed channel, send on a closed channel (plain, non-blocking, in a select, and a sender that
// was blocked when the channel closed, in a plain send and in a select).
// mode: deterministic
package main

import (
	"fmt"
	"runtime"
	"syscall"
	"unsafe"
)

func try(name string, f func()) {
	defer func() {
		say(name, "->", recover())
	}()
	f()
}

func main() {
	var nilc chan int
	c := make(chan int, 1)
	try("close nil", func() { close(nilc) })
	try("close", func() { close(c) })
	try("close closed", func() { close(c) })
	try("send closed", func() { c <- 1 })
	try("nonblocking send closed", func() {
		select {
		case c <- 1:
		default:
			say("BUG: default")
		}
	})
	try("select send closed", func() {
		d := make(chan int)
		select {
		case c <- 1:
		case <-d:
		}
	})
	try("receive closed", func() { v, ok := <-c; say("got", v, ok) })

	u := make(chan int)
	done := make(chan bool)
	go func() {
		try("blocked sender", func() { u <- 1 })
		done <- true
	}()
	go func() {
		try("blocked select sender", func() {
			other := make(chan int)
			select {
			case u <- 2:
			case <-other:
			}
		})
		done <- true
	}()
	runtime.Gosched()
	close(u)
	<-done
	<-done
	try("select recv and send closed", func() {
		// both cases are ready; whichever is chosen, a closed channel is involved
		x := make(chan int)
		close(x)
		for i := 0; i < 20; i++ {
			select {
			case <-x:
			case x <- 1:
			}
		}
		say("BUG: 20 receives in a row")
	})
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
