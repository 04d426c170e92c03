// runtime.Gosched runs the timers that are due even when no other goroutine is runnable: main
// yields in a loop until a goroutine that sleeps 10 ms has woken, which takes about 10 ms.
// mode: deterministic
package main

import (
	"fmt"
	"runtime"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"
)

func main() {
	var woke atomic.Bool
	go func() {
		time.Sleep(10 * time.Millisecond)
		say("sleeper woke")
		woke.Store(true)
	}()
	start := time.Now()
	yields := 0
	for !woke.Load() {
		runtime.Gosched()
		yields++
	}
	d := time.Since(start)
	say("main saw it after yielding:", yields > 0)
	say("at least 10ms:", d >= 10*time.Millisecond, "and well under a second:", d < time.Second)
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
