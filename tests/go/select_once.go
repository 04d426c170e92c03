// One select commits exactly one of its cases. A producer offers each value on three
// unbuffered channels at once; one consumer takes from two of them with its own select, a
// plain range loop takes from the third. Every value must arrive once: none lost, none twice.
// mode: deterministic
package main

import (
	"fmt"
	"syscall"
	"unsafe"
)

const count = 4000

func produce(x, y, z chan<- int) {
	for v := 0; v < count; v++ {
		select {
		case x <- v:
		case y <- v:
		case z <- v:
		}
	}
	close(x)
	close(y)
	close(z)
}

// selectBoth forwards from x and y until both are closed; a closed channel is set to nil,
// so its case can never be chosen again.
func selectBoth(x, y <-chan int, sink chan<- int, finished chan<- string) {
	for x != nil || y != nil {
		select {
		case v, ok := <-x:
			if !ok {
				x = nil
				continue
			}
			sink <- v
		case v, ok := <-y:
			if !ok {
				y = nil
				continue
			}
			sink <- v
		}
	}
	finished <- "select consumer"
}

func rangeOne(z <-chan int, sink chan<- int, finished chan<- string) {
	for v := range z {
		sink <- v
	}
	finished <- "range consumer"
}

func main() {
	x, y, z := make(chan int), make(chan int), make(chan int)
	sink := make(chan int)
	finished := make(chan string, 2)
	go produce(x, y, z)
	go selectBoth(x, y, sink, finished)
	go rangeOne(z, sink, finished)
	seen := make([]bool, count)
	distinct, sum := 0, 0
	for done := 0; done < 2; {
		select {
		case v := <-sink:
			if seen[v] {
				panic(fmt.Sprint("value delivered twice: ", v))
			}
			seen[v] = true
			distinct++
			sum += v
		case <-finished:
			done++
		}
	}
	say("distinct", distinct, "of", count, "sum", sum, "want", count*(count-1)/2)
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
