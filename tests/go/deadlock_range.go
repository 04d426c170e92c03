// Deadlock: main ranges over a channel that the producers forget to close.
// mode: deadlock
package main

import (
	"fmt"
	"syscall"
	"unsafe"
)

func main() {
	c := make(chan int, 2)
	for p := 0; p < 3; p++ {
		go func(p int) {
			for i := 0; i < 2; i++ {
				c <- p*10 + i
			}
		}(p)
	}
	n := 0
	for v := range c {
		say("got", v)
		n++
	}
	say("BUG: range ended after", n)
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
