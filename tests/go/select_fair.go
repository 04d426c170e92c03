// select chooses uniformly among its ready cases: three ready receives, a ready send against a
// ready receive, cases that repeat a channel (each case counts on its own), a select with
// default where two cases are ready, and a closed channel against a ready one (a nil channel's
// case is never chosen). Prints the counts of each chosen case over N trials.
// mode: random
package main

import (
	"fmt"
	"syscall"
	"unsafe"
)

const N = 3000

func main() {
	a := make(chan int, 1)
	b := make(chan int, 1)
	c := make(chan int, 1)
	var counts [3]int
	for i := 0; i < N; i++ {
		a <- 0
		b <- 1
		c <- 2
		select {
		case <-a:
			counts[0]++
			<-b
			<-c
		case <-b:
			counts[1]++
			<-a
			<-c
		case <-c:
			counts[2]++
			<-a
			<-b
		}
	}
	for k, n := range counts {
		say("~ three", k, n)
	}

	var sr [2]int
	for i := 0; i < N; i++ {
		a <- 1
		select {
		case b <- 1:
			sr[0]++
			<-b
			<-a
		case <-a:
			sr[1]++
		}
	}
	say("~ sendrecv send", sr[0])
	say("~ sendrecv recv", sr[1])

	var dup [3]int
	for i := 0; i < N; i++ {
		a <- 1
		b <- 1
		select {
		case <-a:
			dup[0]++
			<-b
		case <-a:
			dup[1]++
			<-b
		case <-b:
			dup[2]++
			<-a
		}
	}
	for k, n := range dup {
		say("~ duplicate", k, n)
	}

	var def [3]int
	for i := 0; i < N; i++ {
		a <- 1
		select {
		case <-a:
			def[0]++
		case b <- 1:
			def[1]++
			<-b
			<-a
		default:
			def[2]++
		}
	}
	say("~ default a", def[0])
	say("~ default b", def[1])
	say("default chosen:", def[2])

	closed := make(chan int)
	close(closed)
	var nilc chan int
	var cl [3]int
	for i := 0; i < N; i++ {
		a <- 1
		select {
		case <-nilc:
			cl[2]++
		case v, ok := <-closed:
			if v != 0 || ok {
				panic("closed")
			}
			cl[0]++
			<-a
		case <-a:
			cl[1]++
		case nilc <- 1:
			cl[2]++
		}
	}
	say("~ closed closed", cl[0])
	say("~ closed ready", cl[1])
	say("nil chosen:", cl[2])
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
