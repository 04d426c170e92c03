// Port of go/test/chan/doubleselect.go: two cases of one select must never both run. A sender
// selects among four channels, four muxes forward to one, a receiver checks for duplicates.
// mode: deterministic
package main

import (
	"fmt"
	"syscall"
	"unsafe"
)

const iterations = 5000

func sender(n int, c1, c2, c3, c4 chan<- int) {
	defer close(c1)
	defer close(c2)
	defer close(c3)
	defer close(c4)

	for i := 0; i < n; i++ {
		select {
		case c1 <- i:
		case c2 <- i:
		case c3 <- i:
		case c4 <- i:
		}
	}
}

func mux(out chan<- int, in <-chan int, done chan<- bool) {
	for v := range in {
		out <- v
	}
	done <- true
}

func recver(in <-chan int) {
	seen := make(map[int]bool)
	sum := 0
	for v := range in {
		if _, ok := seen[v]; ok {
			say("got duplicate value: ", v)
			panic("fail")
		}
		seen[v] = true
		sum += v
	}
	say("received", len(seen), "sum", sum)
}

func main() {
	c1 := make(chan int)
	c2 := make(chan int)
	c3 := make(chan int)
	c4 := make(chan int)
	done := make(chan bool)
	cmux := make(chan int)
	go sender(iterations, c1, c2, c3, c4)
	go mux(cmux, c1, done)
	go mux(cmux, c2, done)
	go mux(cmux, c3, done)
	go mux(cmux, c4, done)
	go func() {
		<-done
		<-done
		<-done
		<-done
		close(cmux)
	}()
	recver(cmux)
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
