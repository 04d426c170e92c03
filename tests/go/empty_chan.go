// chan struct{}: a semaphore of capacity 1<<50 costs nothing (zero-size elements have no buffer),
// its values print as {}, a closed quit channel stops a worker, and a done channel signals.
// mode: deterministic
package main

import (
	"fmt"
	"syscall"
	"unsafe"
)

func worker(id int, jobs <-chan int, quit <-chan struct{}, done chan<- struct{}) {
	for {
		select {
		case j := <-jobs:
			say("worker", id, "job", j)
		case <-quit:
			say("worker", id, "quits")
			done <- struct{}{}
			return
		}
	}
}

func main() {
	sem := make(chan struct{}, 1<<50)
	for i := 0; i < 3; i++ {
		sem <- struct{}{}
	}
	say("len", len(sem), "cap", cap(sem))
	v, ok := <-sem
	say("got", v, ok, "len", len(sem))

	huge := make(chan struct{}, 1<<62)
	huge <- struct{}{}
	close(huge)
	for v := range huge {
		say("drained", v)
	}
	v, ok = <-huge
	say("closed gives", v, ok)

	jobs := make(chan int)
	quit := make(chan struct{})
	done := make(chan struct{})
	go worker(1, jobs, quit, done)
	go worker(2, jobs, quit, done)
	for j := 0; j < 4; j++ {
		jobs <- j
	}
	close(quit)
	<-done
	<-done
	say("all done")
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
