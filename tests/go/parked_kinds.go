// Whatever form each side uses (a plain operation, a one-case select, or a select with a
// second case that never fires), a value crosses an unbuffered channel from the sender to
// the receiver, whichever of the two parked first.
// mode: deterministic
package main

import (
	"fmt"
	"runtime"
	"syscall"
	"unsafe"
)

var receivers = []struct {
	name string
	take func(c chan int) int
}{
	{"plain", func(c chan int) int { return <-c }},
	{"select1", func(c chan int) int {
		select {
		case v := <-c:
			return v
		}
	}},
	{"select2", func(c chan int) int {
		never := make(chan int)
		select {
		case v := <-c:
			return v
		case <-never:
			panic("never fired")
		}
	}},
}

var senders = []struct {
	name string
	give func(c chan int, v int)
}{
	{"plain", func(c chan int, v int) { c <- v }},
	{"select1", func(c chan int, v int) {
		select {
		case c <- v:
		}
	}},
	{"select2", func(c chan int, v int) {
		never := make(chan int)
		select {
		case c <- v:
		case never <- v:
			panic("never fired")
		}
	}},
}

func main() {
	for r, recv := range receivers {
		for s, send := range senders {
			v := 10*r + s
			c, got := make(chan int), make(chan int, 1)
			go func() { got <- recv.take(c) }()
			runtime.Gosched() // the receiver parks first
			send.give(c, v)
			a := <-got
			go send.give(c, v+100)
			runtime.Gosched() // now the sender parks first
			b := recv.take(c)
			say(recv.name, "from", send.name, a, b)
		}
	}
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
