// close wakes every receiver (zero value, ok false) and every sender (which panics "send on
// closed channel"), in Go's order: closechan readies the goroutines from a stack (last
// dequeued first), each into runnext. The transcript shows the order in which they run.
// mode: deterministic
package main

import (
	"fmt"
	"runtime"
	"syscall"
	"unsafe"
)

func receivers() {
	c := make(chan int)
	done := make(chan int, 10)
	for i := 0; i < 5; i++ {
		go func(i int) {
			v, ok := <-c
			say("receiver", i, v, ok)
			done <- i
		}(i)
	}
	runtime.Gosched()
	close(c)
	say("closed")
	for i := 0; i < 5; i++ {
		<-done
	}
}

func senders() {
	c := make(chan int)
	done := make(chan int, 10)
	for i := 0; i < 4; i++ {
		go func(i int) {
			defer func() {
				say("sender", i, "recovered:", recover())
				done <- i
			}()
			c <- i
		}(i)
	}
	runtime.Gosched()
	say("received", <-c)
	close(c)
	say("closed")
	for i := 0; i < 3; i++ {
		<-done
	}
}

func selects() {
	a := make(chan int)
	b := make(chan int)
	done := make(chan bool)
	for i := 0; i < 3; i++ {
		go func(i int) {
			select {
			case v, ok := <-a:
				say("select", i, "a", v, ok)
			case v, ok := <-b:
				say("select", i, "b", v, ok)
			}
			done <- true
		}(i)
	}
	runtime.Gosched()
	b <- 7
	say("sent 7 on b")
	close(a)
	say("closed a")
	for i := 0; i < 3; i++ {
		<-done
	}
}

func buffered() {
	c := make(chan int, 3)
	c <- 1
	c <- 2
	close(c)
	for i := 0; i < 4; i++ {
		v, ok := <-c
		say("buffered", v, ok, len(c), cap(c))
	}
	for v := range c {
		say("range got", v)
	}
	say("range over closed channel ends")
}

func main() {
	receivers()
	senders()
	selects()
	buffered()
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
