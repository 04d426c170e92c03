// Non-blocking channel operations (a select with a default case) never wait: each one
// fails exactly when its blocking form would park, and succeeds when a partner is already
// parked, the buffer allows it, or the channel is closed (for a receive).
// mode: deterministic
package main

import (
	"fmt"
	"runtime"
	"syscall"
	"unsafe"
)

func trySend(c chan int, v int) bool {
	select {
	case c <- v:
		return true
	default:
		return false
	}
}

func tryRecv(c chan int) (v int, ok, done bool) {
	select {
	case v, ok = <-c:
		return v, ok, true
	default:
		return 0, false, false
	}
}

func lonelyUnbuffered() {
	c := make(chan int)
	v, ok, done := tryRecv(c)
	say("alone: send", trySend(c, 1), "recv", v, ok, done)
}

func parkedPartners() {
	c := make(chan int)
	got := make(chan int, 1)
	go func() { got <- <-c }()
	runtime.Gosched() // the receiver parks on c
	say("parked receiver: send", trySend(c, 7), "it got", <-got)
	go func() { c <- 8 }()
	runtime.Gosched() // the sender parks on c
	v, ok, done := tryRecv(c)
	say("parked sender: recv", v, ok, done)
}

func buffered() {
	c := make(chan int, 2)
	say("buffer of 2: sends", trySend(c, 1), trySend(c, 2), trySend(c, 3))
	for i := 0; i < 3; i++ {
		v, ok, done := tryRecv(c)
		say("buffer of 2: recv", i, v, ok, done)
	}
}

func closed() {
	c := make(chan int, 1)
	c <- 9
	close(c)
	for i := 0; i < 2; i++ {
		v, ok, done := tryRecv(c)
		say("closed: recv", i, v, ok, done)
	}
	defer func() { say("closed: send recovered", recover()) }()
	trySend(c, 10)
}

func nilChannel() {
	var c chan int
	v, ok, done := tryRecv(c)
	say("nil: send", trySend(c, 1), "recv", v, ok, done)
}

func main() {
	lonelyUnbuffered()
	parkedPartners()
	buffered()
	closed()
	nilChannel()
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
