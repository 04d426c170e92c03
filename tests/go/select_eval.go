// A select evaluates every case's channel and every send's value once, in source order,
// before it chooses, whether or not that case is chosen; a case whose channel is nil is
// never chosen, so a loop that nils out each channel it used sends on each exactly once.
// mode: deterministic
package main

import (
	"fmt"
	"syscall"
	"unsafe"
)

var log []string

func ch(name string, c chan int) chan int {
	log = append(log, "chan "+name)
	return c
}

func val(name string, v int) int {
	log = append(log, "value "+name)
	return v
}

func evaluationOrder() {
	full := make(chan int, 1)
	full <- 0
	room := make(chan int, 1)
	var none chan int
	quiet := make(chan int)
	select {
	case ch("full", full) <- val("full", 1):
		say("BUG: sent to a full channel")
	case <-ch("none", none):
		say("BUG: received from nil")
	case ch("room", room) <- val("room", 2):
		say("sent to room")
	case <-ch("quiet", quiet):
		say("BUG: received from a channel nobody sends on")
	}
	say("evaluated", len(log), log)
}

func eachOnce() {
	a, b, c := make(chan int, 1), make(chan int, 1), make(chan int, 1)
	sends := 0
	for round := 0; ; round++ {
		select {
		case a <- round:
			a = nil
		case b <- round:
			b = nil
		case c <- round:
			c = nil
		default:
			say("rounds", round, "sends", sends)
			return
		}
		sends++
	}
}

func main() {
	evaluationOrder()
	eachOnce()
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
