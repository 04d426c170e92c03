// The article's leak in miniature: senders whose receiver has given up stay blocked; the
// goroutine count shows them, and main still ends normally (they are discarded).
// mode: deterministic
package main

import (
	"fmt"
	"runtime"
	"syscall"
	"unsafe"
)

func request(i int) int {
	c := make(chan int) // unbuffered: the leak
	go func() { c <- i * i }()
	if i%3 == 0 {
		return -1 // gave up: nobody will ever receive from c
	}
	return <-c
}

func fixed(i int) int {
	c := make(chan int, 1) // buffered: the sender never blocks
	go func() { c <- i * i }()
	if i%3 == 0 {
		return -1
	}
	return <-c
}

func main() {
	base := runtime.NumGoroutine()
	for i := 0; i < 30; i++ {
		request(i)
	}
	runtime.Gosched()
	say("leaked", runtime.NumGoroutine()-base)
	for i := 0; i < 30; i++ {
		fixed(i)
	}
	runtime.Gosched()
	say("after fixed", runtime.NumGoroutine()-base)
	say("sum", request(4)+request(5))
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
