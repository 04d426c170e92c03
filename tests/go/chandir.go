// Directional channels: a producer that may only send, a consumer that may only receive, both
// sharing one channel; receive-only and send-only values in select, len and cap through a view,
// time.After's receive-only channel as a timeout, and the nil receive-only channel.
// mode: deterministic
package main

import (
	"fmt"
	"syscall"
	"time"
	"unsafe"
)

func produce(out chan<- int, n int) {
	for i := 1; i <= n; i++ {
		out <- i * i
		say("produced", i*i, "len", len(out), "cap", cap(out))
	}
	close(out)
}

func consume(in <-chan int, done chan<- struct{}) {
	sum := 0
	for v := range in {
		say("consumed", v)
		sum += v
	}
	say("sum", sum)
	done <- struct{}{}
}

func main() {
	c := make(chan int, 2)
	done := make(chan struct{})
	go produce(c, 5)
	go consume(c, done)
	<-done

	a := make(chan string, 1)
	var ra <-chan string = a
	var sa chan<- string = a
	for i := 0; i < 2; i++ {
		select {
		case sa <- "x":
			say("sent x", len(ra))
		default:
			say("full", len(sa), cap(ra))
		}
	}
	select {
	case v, ok := <-ra:
		say("received", v, ok)
	case <-time.After(200 * time.Millisecond):
		say("timeout")
	}
	select {
	case v := <-ra:
		say("BUG", v)
	case <-time.After(200 * time.Millisecond):
		say("timeout: nothing left")
	}
	var nilr <-chan int
	select {
	case <-nilr:
		say("BUG: nil ready")
	default:
		say("a nil receive-only channel is never ready")
	}
	tick := time.Tick(200 * time.Millisecond)
	for i := 0; i < 2; i++ {
		<-tick
		say("tick", i)
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
