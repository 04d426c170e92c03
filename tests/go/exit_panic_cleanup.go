// A goroutine panics while main and another goroutine are parked with deferred calls pending:
// only the panicking goroutine's deferred calls run, then the program dies of the panic.
// mode: panic
package main

import (
	"fmt"
	"runtime"
	"syscall"
	"unsafe"
)

func main() {
	c := make(chan int)
	go func() {
		defer say("parked goroutine's deferred call")
		<-c
	}()
	go func() {
		defer say("panicking goroutine's deferred call")
		runtime.Gosched()
		panic("boom")
	}()
	defer say("main's deferred call")
	runtime.Gosched()
	say("main parks")
	<-c
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
