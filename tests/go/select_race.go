// Random choices compounded with scheduling: two producers fill two channels of capacity 1 and
// block on the next send, and a consumer selects between them; the order in which it sees the first four values depends on
// each select's choice and on who is woken, so its distribution tests both. A second part
// races two senders and two receivers through selects on an unbuffered pair.
// mode: random
package main

import (
	"fmt"
	"syscall"
	"unsafe"
)

const N = 2000

func trial() string {
	a := make(chan int, 1)
	b := make(chan int, 1)
	done := make(chan bool)
	started := make(chan bool)
	go func() {
		a <- 0
		started <- true
		a <- 1
		done <- true
	}()
	go func() {
		b <- 0
		started <- true
		b <- 1
		done <- true
	}()
	<-started
	<-started
	s := ""
	for i := 0; i < 4; i++ {
		select {
		case v := <-a:
			s += fmt.Sprint("a", v)
		case v := <-b:
			s += fmt.Sprint("b", v)
		}
	}
	<-done
	<-done
	return s
}

func race() string {
	x := make(chan string)
	y := make(chan string)
	out := make(chan string, 4)
	for _, name := range []string{"S", "T"} {
		go func(name string) {
			select {
			case x <- name + "x":
			case y <- name + "y":
			}
		}(name)
	}
	for i := 0; i < 2; i++ {
		go func() {
			select {
			case v := <-x:
				out <- v
			case v := <-y:
				out <- v
			}
		}()
	}
	return <-out + <-out
}

func main() {
	counts := map[string]int{}
	for i := 0; i < N; i++ {
		counts[trial()]++
	}
	for _, k := range []string{"a0a1b0b1", "a0b0a1b1", "a0b0b1a1", "b0a0a1b1", "b0a0b1a1", "b0b1a0a1"} {
		say("~ order", k, counts[k])
		delete(counts, k)
	}
	for k, n := range counts {
		say("~ order", k, n)
	}
	rc := map[string]int{}
	for i := 0; i < N; i++ {
		rc[race()]++
	}
	for _, k := range []string{"SxTx", "SxTy", "SyTx", "SyTy", "TxSx", "TxSy", "TySx", "TySy"} {
		if rc[k] > 0 {
			say("~ race", k, rc[k])
		}
		delete(rc, k)
	}
	for k, n := range rc {
		say("~ race", k, n)
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
