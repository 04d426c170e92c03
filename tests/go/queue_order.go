// A channel is first in, first out three ways: a buffer that wraps around its ring returns
// values in the order they went in; receivers parked on an unbuffered channel are served in
// the order they parked; senders parked on a full channel deliver in the order they parked.
// mode: deterministic
package main

import (
	"fmt"
	"runtime"
	"syscall"
	"unsafe"
)

// ringWraps fills and drains a capacity-5 buffer unevenly, so sendx and recvx wrap past the
// end of the ring several times; the values must still come out in sending order.
func ringWraps() {
	c := make(chan int, 5)
	next, want := 0, 0
	for _, batch := range [][2]int{{5, 3}, {3, 4}, {4, 2}, {2, 5}} {
		for i := 0; i < batch[0]; i++ {
			c <- next
			next++
		}
		got := []int{}
		for i := 0; i < batch[1]; i++ {
			v := <-c
			if v != want {
				panic("ring out of order")
			}
			want++
			got = append(got, v)
		}
		say("ring put", batch[0], "took", got, "left", len(c))
	}
}

// receiversInLine parks one receiver at a time (each parks before main goes on), then sends
// 10, 11, 12...: the first to park must get the first value.
func receiversInLine(k int) {
	c := make(chan int)
	got := make(chan [2]int, k)
	for id := 0; id < k; id++ {
		go func(id int) { got <- [2]int{id, <-c} }(id)
		runtime.Gosched()
	}
	for i := 0; i < k; i++ {
		c <- 10 + i
	}
	byID := make([]int, k)
	for i := 0; i < k; i++ {
		r := <-got
		byID[r[0]] = r[1]
	}
	say("receivers got", byID)
}

// sendersInLine parks senders on a full capacity-1 channel one at a time; draining it
// yields the buffered value, then the parked senders' values in parking order.
func sendersInLine(k int) {
	c := make(chan int, 1)
	c <- -1
	for id := 0; id < k; id++ {
		go func(id int) { c <- 100 + id }(id)
		runtime.Gosched()
	}
	order := []int{}
	for i := 0; i <= k; i++ {
		order = append(order, <-c)
	}
	say("drained", order)
}

func main() {
	ringWraps()
	receiversInLine(6)
	sendersInLine(6)
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
