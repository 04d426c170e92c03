// atomic.Value holds one concrete type for its life: storing a value of another type panics.
// mode: panic
package main

import (
	"fmt"
	"sync/atomic"
	"syscall"
	"unsafe"
)

func main() {
	var v atomic.Value
	v.Store(1)
	say("stored", v.Load())
	v.Store("one")
	say("unreachable")
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
