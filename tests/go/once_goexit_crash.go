// A goroutine whose sync.OnceFunc's f calls runtime.Goexit, with nobody recovering: the
// wrapper's panic(nil) during the Goexit crashes the program.
// mode: panic
package main

import (
	"fmt"
	"runtime"
	"sync"
	"syscall"
	"unsafe"
)

func main() {
	f := sync.OnceFunc(func() {
		say("f runs")
		runtime.Goexit()
	})
	done := make(chan bool)
	go func() {
		f()
		done <- true
	}()
	<-done
	say("main is never woken")
}

// say prints its arguments as fmt.Println does, with a raw write(2) (see gosched.go).
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
