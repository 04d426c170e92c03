// The order in which new and readied goroutines run: a go statement puts the new goroutine in
// runnext (the one it displaces goes to the tail of the run queue), as does waking a parked
// goroutine; Gosched puts the caller behind everything runnable.
// mode: deterministic
package main

import (
	"fmt"
	"runtime"
	"syscall"
	"unsafe"
)

func spawnOrder() {
	done := make(chan int)
	for i := 0; i < 5; i++ {
		go func(i int) {
			say("spawned", i, "runs")
			done <- i
		}(i)
	}
	for i := 0; i < 5; i++ {
		say("done from", <-done)
	}
}

func wakeups() {
	c := make(chan int)
	out := make(chan string, 20)
	for i := 0; i < 3; i++ {
		go func(i int) {
			v := <-c
			out <- fmt.Sprint("woken ", i, " with ", v)
		}(i)
	}
	runtime.Gosched()
	for i := 0; i < 3; i++ {
		c <- 100 + i
		out <- fmt.Sprint("main sent ", 100+i)
	}
	runtime.Gosched()
	close(out)
	for s := range out {
		say(s)
	}
}

func pingpong() {
	ping := make(chan int)
	pong := make(chan int)
	go func() {
		for v := range ping {
			say("ping", v)
			pong <- v + 1
		}
		close(pong)
	}()
	v := 0
	for i := 0; i < 5; i++ {
		ping <- v
		v = <-pong
		say("pong", v)
	}
	close(ping)
	_, ok := <-pong
	say("pong open", ok)
}

func main() {
	spawnOrder()
	wakeups()
	pingpong()
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
