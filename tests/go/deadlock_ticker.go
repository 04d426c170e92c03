// Go 1.23 timer channels: a Ticker's or Timer's timer is in the runtime's heap only while a
// goroutine is blocked receiving from its channel. A goroutine ranging over a ticker keeps the
// program going; once nobody receives, the unstopped Ticker and a 3 s Timer keep nothing alive:
// main blocked on a channel nobody sends on is a deadlock at once.
// mode: deadlock

package main

import (
	"fmt"
	"syscall"
	"time"
	"unsafe"
)

func main() {
	ticker := time.NewTicker(10 * time.Millisecond)
	done := make(chan bool)
	go func() {
		n := 0
		for range ticker.C {
			n++
			if n == 3 {
				break
			}
		}
		say("three ticks received")
		done <- true
	}()
	<-done
	timer := time.NewTimer(3 * time.Second)
	_ = timer
	say("nobody receives from the ticker or the timer now")
	<-make(chan int)
}
// say prints its arguments as fmt.Println does, with a raw write(2) (see gosched.go).
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
