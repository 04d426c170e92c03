// make(chan T, n) panics "makechan: size out of range" when the buffer would not fit in the
// largest allocation less the channel header: elemsize*n > maxAlloc - hchanSize. With 8-byte
// elements on linux/amd64 that is n > 2**45 - 14. (The largest size that passes the check is
// not made here: Go would then try to allocate 256 TiB.)
// mode: deterministic
package main

import (
	"fmt"
	"syscall"
	"unsafe"
)

func try(label string, n int64) {
	defer func() {
		if r := recover(); r != nil {
			say(label, "panics:", r)
		}
	}()
	c := make(chan *int, n)
	say(label, "makes a channel of cap", cap(c))
}

func main() {
	try("1<<45 - 13", 1<<45-13)
	try("1<<45 - 1", 1<<45-1)
	try("1<<45", 1<<45)
	try("1<<62", 1<<62)
	try("-1", -1)
	try("-(1<<62)", -(1 << 62))
	try("1000", 1000)
	try("0", 0)
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
