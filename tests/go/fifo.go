// Port of go/test/chan/fifo.go: a buffered channel is a FIFO, and a daisy chain of goroutines
// reads an unbuffered channel in sequence. Prints what each link of the chain receives.
// mode: deterministic
package main

import (
	"fmt"
	"syscall"
	"unsafe"
)

const N = 10

func AsynchFifo() {
	ch := make(chan int, N)
	for i := 0; i < N; i++ {
		ch <- i
	}
	for i := 0; i < N; i++ {
		v := <-ch
		say("async", i, v)
	}
}

func Chain(ch <-chan int, val int, in <-chan int, out chan<- int) {
	<-in
	v := <-ch
	say("chain", val, "got", v)
	if v != val {
		panic(val)
	}
	out <- 1
}

// thread together a daisy chain to read the elements in sequence
func SynchFifo() {
	ch := make(chan int)
	in := make(chan int)
	start := in
	for i := 0; i < N; i++ {
		out := make(chan int)
		go Chain(ch, i, in, out)
		in = out
	}
	start <- 0
	for i := 0; i < N; i++ {
		ch <- i
		say("sent", i)
	}
	<-in
	say("done")
}

func main() {
	AsynchFifo()
	SynchFifo()
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
