// runtime.Gosched puts the caller on the global run queue, which one P reads only when its
// local run queue is empty (or on every 61st schedule): a goroutine made runnable after the
// Gosched, kicked from runnext to the local queue, still runs before the yielder resumes.
// mode: deterministic
package main

import (
	"fmt"
	"runtime"
	"syscall"
	"unsafe"
)

func yielders() {
	done := make(chan bool)
	for i := 0; i < 3; i++ {
		go func(i int) {
			for j := 0; j < 3; j++ {
				say("yielder", i, "step", j)
				runtime.Gosched()
			}
			done <- true
		}(i)
	}
	runtime.Gosched()
	say("main resumes")
	for i := 0; i < 3; i++ {
		<-done
	}
}

func nested() {
	done := make(chan string, 20)
	go func() {
		done <- "a"
		go func() { done <- "a1" }()
		go func() { done <- "a2" }()
		done <- "a end"
	}()
	go func() {
		done <- "b"
		go func() { done <- "b1" }()
		runtime.Gosched()
		done <- "b end"
	}()
	runtime.Gosched()
	runtime.Gosched()
	close(done)
	for s := range done {
		say("nested", s)
	}
}

func main() {
	yielders()
	nested()
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
