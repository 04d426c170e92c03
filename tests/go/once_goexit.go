// sync.OnceFunc, OnceValue and OnceValues when f calls runtime.Goexit: the deferred recover in
// the wrapper finds no panic, so the wrapper panics with nil (a *runtime.PanicNilError), on the
// first call and on every later one; f runs once. Each call is made in a goroutine of its own
// that recovers and prints what it got. (After recovering the first call's panic, Go's goroutine
// still exits: nothing is printed after the recover, so the twin need not mimic that.)
// mode: deterministic
package main

import (
	"fmt"
	"runtime"
	"sync"
	"syscall"
	"unsafe"
)

func call(label string, f func()) {
	done := make(chan bool)
	go func() {
		defer func() { done <- true }()
		defer func() {
			say(label, "recovered:", recover())
		}()
		f()
		say(label, "returned")
	}()
	<-done
}

func main() {
	calls := 0
	f := sync.OnceFunc(func() {
		calls++
		say("f runs")
		runtime.Goexit()
	})
	call("OnceFunc 1", f)
	call("OnceFunc 2", f)
	say("calls:", calls)

	v := sync.OnceValue(func() int {
		calls++
		runtime.Goexit()
		return 7
	})
	call("OnceValue 1", func() { say("got", v()) })
	call("OnceValue 2", func() { say("got", v()) })
	say("calls:", calls)

	vs := sync.OnceValues(func() (int, error) {
		calls++
		runtime.Goexit()
		return 7, nil
	})
	call("OnceValues 1", func() { say(vs()) })
	call("OnceValues 2", func() { say(vs()) })
	say("calls:", calls)

	fine := sync.OnceValue(func() int {
		calls++
		return 42
	})
	call("OnceValue that returns", func() { say("got", fine(), fine()) })
	say("calls:", calls)
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
