// A pipeline that grows while it runs: each stage keeps the smallest value it has seen and
// passes every larger one down the line, starting a new stage the first time it has
// something to pass. When the input ends, each stage sends its kept value, then relays what
// arrives from below, so the values leave the head of the line in ascending order.
// mode: deterministic
package main

import (
	"fmt"
	"syscall"
	"unsafe"
)

const values = 300

// stage reads in until it is closed, writing the result, in order, to out.
func stage(in <-chan int, out chan<- int) {
	kept, ok := <-in
	if !ok {
		close(out)
		return
	}
	var down chan int
	var up chan int
	for v := range in {
		if v < kept {
			v, kept = kept, v
		}
		if down == nil {
			down, up = make(chan int), make(chan int)
			go stage(down, up)
		}
		down <- v
	}
	out <- kept
	if down != nil {
		close(down)
		for v := range up {
			out <- v
		}
	}
	close(out)
}

func main() {
	in, out := make(chan int), make(chan int)
	go stage(in, out)
	x := uint32(12345)
	for i := 0; i < values; i++ {
		x = x*1103515245 + 12345 // a fixed pseudo-random sequence, the same in the twin
		in <- int(x>>16) % 1000
	}
	close(in)
	prev, n, sum := -1, 0, 0
	for v := range out {
		if v < prev {
			panic(fmt.Sprint("out of order: ", prev, " then ", v))
		}
		prev = v
		n++
		sum += v
		if n%50 == 0 {
			say("value", n, "is", v)
		}
	}
	say("sorted", n, "values, sum", sum)
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
