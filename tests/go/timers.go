// Sleeping goroutines wake in the order of their deadlines; a select times out on time.After
// when nothing else can be ready, and takes the ready case when it is; a stopped timer never
// fires. Deadlines that race are 200 ms apart, so the wall clock cannot reorder them (two
// timers that fire in one pass would each take runnext, the later first); the twin runs on
// the virtual clock.
// mode: deterministic
package main

import (
	"fmt"
	"syscall"
	"time"
	"unsafe"
)

const unit = 200 * time.Millisecond

func main() {
	done := make(chan string)
	for _, d := range []int{3, 1, 2} {
		go func(d int) {
			time.Sleep(time.Duration(d) * unit)
			done <- fmt.Sprint("slept ", d)
		}(d)
	}
	for i := 0; i < 3; i++ {
		say(<-done)
	}

	work := make(chan int)
	start := make(chan bool)
	go func() {
		<-start
		work <- 1
	}()
	select {
	case v := <-work:
		say("BUG: work", v)
	case <-time.After(unit / 4):
		say("timeout: the worker waits for start")
	}
	start <- true
	select {
	case v := <-work:
		say("work", v)
	case <-time.After(10 * unit):
		say("BUG: timeout")
	}

	t := time.NewTimer(unit)
	say("stopped", t.Stop())
	select {
	case <-t.C:
		say("BUG: stopped timer fired")
	case <-time.After(2 * unit):
		say("stopped timer stayed silent")
	}
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
