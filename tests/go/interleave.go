// A producer and a consumer on channels of capacity 0 to 3: the transcript records every send
// and receive as it completes, so it is the exact interleaving of Go's scheduler (runnext for
// a goroutine just made ready, FIFO run queue, one P).
// mode: deterministic
package main

import (
	"fmt"
	"syscall"
	"unsafe"
)

func producer(c chan int, n int, done chan bool) {
	for i := 0; i < n; i++ {
		c <- i
		say("  sent", i, "len", len(c))
	}
	close(c)
	say("  closed")
	done <- true
}

func consumer(name string, c chan int, done chan bool) {
	for v := range c {
		say("  ", name, "got", v)
	}
	say("  ", name, "saw close")
	done <- true
}

func main() {
	for size := 0; size <= 3; size++ {
		say("cap", size)
		c := make(chan int, size)
		done := make(chan bool)
		go producer(c, 6, done)
		go consumer("A", c, done)
		go consumer("B", c, done)
		<-done
		<-done
		<-done
	}
	say("two producers, one consumer, cap 1")
	c := make(chan int, 1)
	done := make(chan bool)
	go func() {
		for i := 0; i < 4; i++ {
			c <- 10 + i
			say("  P1 sent", 10+i)
		}
		done <- true
	}()
	go func() {
		for i := 0; i < 4; i++ {
			c <- 20 + i
			say("  P2 sent", 20+i)
		}
		done <- true
	}()
	for i := 0; i < 8; i++ {
		say("  main got", <-c)
	}
	<-done
	<-done
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
