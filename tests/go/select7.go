// Port of go/test/chan/select7.go: a send reaches a receiver parked in a plain receive, a
// one-case select and a two-case select, from a plain send, a one-case and a two-case select.
// mode: deterministic
package main

import (
	"fmt"
	"runtime"
	"syscall"
	"unsafe"
)

func recv1(c <-chan int) {
	say("recv1", <-c)
}

func recv2(c <-chan int) {
	select {
	case v := <-c:
		say("recv2", v)
	}
}

func recv3(c <-chan int) {
	c2 := make(chan int)
	select {
	case v := <-c:
		say("recv3", v)
	case <-c2:
	}
}

func send1(recv func(<-chan int)) {
	c := make(chan int)
	go recv(c)
	runtime.Gosched()
	c <- 1
	say("send1 done")
}

func send2(recv func(<-chan int)) {
	c := make(chan int)
	go recv(c)
	runtime.Gosched()
	select {
	case c <- 2:
	}
	say("send2 done")
}

func send3(recv func(<-chan int)) {
	c := make(chan int)
	go recv(c)
	runtime.Gosched()
	c2 := make(chan int)
	select {
	case c <- 3:
	case c2 <- 1:
	}
	say("send3 done")
}

func main() {
	send1(recv1)
	send2(recv1)
	send3(recv1)
	send1(recv2)
	send2(recv2)
	send3(recv2)
	send1(recv3)
	send2(recv3)
	send3(recv3)
	runtime.Gosched()
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
