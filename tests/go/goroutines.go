// Port of go/test/chan/goroutines.go: a torture test, 10000 goroutines threaded together by
// unbuffered channels and torn down cleanly.
// mode: deterministic
package main

import (
	"fmt"
	"runtime"
	"syscall"
	"unsafe"
)

func f(left, right chan int) {
	left <- <-right
}

func main() {
	var n = 10000
	leftmost := make(chan int)
	right := leftmost
	left := leftmost
	for i := 0; i < n; i++ {
		right = make(chan int)
		go f(left, right)
		left = right
	}
	runtime.Gosched()
	say("goroutines", runtime.NumGoroutine() >= n+1)
	go func(c chan int) { c <- 1 }(right)
	say("got", <-leftmost)
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
