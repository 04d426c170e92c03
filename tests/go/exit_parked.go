// main returns while goroutines are parked inside cleanup that would print, unlock a mutex,
// call wg.Done, panic or block: the program exits and none of that cleanup runs.
// mode: deterministic
package main

import (
	"fmt"
	"runtime"
	"sync"
	"syscall"
	"time"
	"unsafe"
)

func main() {
	var mu sync.Mutex
	cond := sync.NewCond(&mu)
	var wg sync.WaitGroup
	c1, c2, c3 := make(chan int), make(chan int), make(chan int)

	go func() { // would print
		defer say("printer's deferred call")
		<-c1
		say("printer resumed")
	}()
	go func() { // would unlock a mutex it no longer holds while parked in Wait
		mu.Lock()
		defer mu.Unlock()
		cond.Wait()
		say("waiter resumed")
	}()
	wg.Add(1)
	go func() { // would call Done
		defer wg.Done()
		c2 <- 1
	}()
	go func() { // would panic
		defer func() { panic("cleanup panics") }()
		<-c3
	}()
	go func() { // would block on a timer
		defer time.Sleep(time.Second)
		defer say("sleeper's deferred call")
		select {}
	}()
	for i := 0; i < 5; i++ {
		runtime.Gosched()
	}
	say("main returns")
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
