// After go/test/chan/nonblock.go: non-blocking sends and receives on unbuffered and buffered
// channels fail when they would block and succeed once a partner is there; the transcript
// counts the Gosched calls each success needed.
// mode: deterministic
package main

import (
	"fmt"
	"runtime"
	"syscall"
	"unsafe"
)

func receiver(c chan int, strobe chan bool) {
	if v := <-c; v != 123 {
		panic("value")
	}
	strobe <- true
}

func sender(c chan int, strobe chan bool) {
	c <- 234
	strobe <- true
}

func main() {
	for buffer := 0; buffer < 2; buffer++ {
		c := make(chan int, buffer)
		strobe := make(chan bool)

		select {
		case <-c:
			panic("BUG: receive on empty channel")
		default:
			say(buffer, "receive would block")
		}
		go receiver(c, strobe)
		tries := 0
	Send:
		for {
			select {
			case c <- 123:
				break Send
			default:
				tries++
				runtime.Gosched()
			}
		}
		<-strobe
		say(buffer, "send succeeded after", tries, "yields")

		go sender(c, strobe)
		tries = 0
	Recv:
		for {
			select {
			case v := <-c:
				say(buffer, "received", v)
				break Recv
			default:
				tries++
				runtime.Gosched()
			}
		}
		<-strobe
		say(buffer, "receive succeeded after", tries, "yields")

		if buffer > 0 {
			c <- 1
			select {
			case c <- 2:
				panic("BUG: send on full channel")
			default:
				say(buffer, "send on full would block")
			}
			say(buffer, "drained", <-c)
		}
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
