// A goroutine spinning on a select with a default case, with no other way to block, is
// preempted after 10 ms of running (Go's sysmon), so main's time.Sleep(20ms) returns: main then
// tells the spinner to stop and prints what it counted.
// mode: deterministic
// preempt: on
package main

import (
	"fmt"
	"syscall"
	"time"
	"unsafe"
)

func main() {
	done := make(chan struct{})
	result := make(chan int)
	go func() {
		spins := 0
		for {
			select {
			case <-done:
				result <- spins
				return
			default:
				spins++
			}
		}
	}()
	start := time.Now()
	time.Sleep(20 * time.Millisecond)
	say("main's sleep returned; at least 20ms:", time.Since(start) >= 20*time.Millisecond)
	close(done)
	say("the spinner spun:", <-result > 0)
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
