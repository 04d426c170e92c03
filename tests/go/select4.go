// Port of go/test/chan/select4.go (with select6.go and select8.go): a select receives from the
// ready case only; issue 2075 (a select's sudog left on a channel after another case won);
// break out of select cases.
// mode: deterministic
package main

import (
	"fmt"
	"syscall"
	"unsafe"
)

func select4() {
	c := make(chan int, 1)
	c1 := make(chan int)
	c <- 42
	select {
	case v := <-c1:
		say("BUG: c1", v)
	case v := <-c:
		say("select4 got", v)
	}
}

func select6() {
	c1 := make(chan bool)
	c2 := make(chan bool)
	c3 := make(chan bool)
	go func() { <-c1; say("select6: first reader of c1") }()
	go func() {
		select {
		case <-c1:
			panic("dummy")
		case <-c2:
			say("select6: c2 won")
			c3 <- true
		}
		<-c1
		say("select6: second reader of c1")
	}()
	go func() { c2 <- true }()
	<-c3
	c1 <- true
	c1 <- true
	say("select6 done")
}

func select8() {
	ch := make(chan int)
	go func() {
		for {
			ch <- 5
		}
	}()
	select {
	case v := <-ch:
		say("select8 a", v)
	}
	select {
	default:
		say("select8 b default")
	}
	select {
	case v := <-ch:
		say("select8 c", v)
	default:
		say("select8 c default")
	}
	select {
	case v := <-ch:
		say("select8 d", v)
	case ch <- 10:
		panic("unreachable")
	default:
		say("select8 d default")
	}
}

func main() {
	select4()
	select6()
	select8()
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
