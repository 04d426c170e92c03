// sync.Map's operations and their (value, ok) results, Range stopped early, Clear; sync.Pool's
// order with one P (the private slot first, then the latest put) and New for an empty pool.
// mode: deterministic
package main

import (
	"fmt"
	"sort"
	"sync"
	"syscall"
	"unsafe"
)

func main() {
	var m sync.Map
	say(m.Load("a"))
	say(m.LoadOrStore("a", 1))
	say(m.LoadOrStore("a", 2))
	say(m.Swap("a", 3))
	say(m.Swap("b", 4))
	say(m.CompareAndSwap("a", 3.0, 5), m.CompareAndSwap("a", 3, 5), m.CompareAndSwap("zz", nil, 1))
	say(m.CompareAndDelete("a", 4), m.CompareAndDelete("a", 5), m.CompareAndDelete("zz", nil))
	m.Store("c", 6)
	say(m.LoadAndDelete("c"))
	say(m.LoadAndDelete("c"))
	m.Delete("nothing")
	for _, k := range []string{"x", "y", "z"} {
		m.Store(k, k+k)
	}
	var keys []string
	m.Range(func(k, v any) bool {
		keys = append(keys, k.(string)+"="+fmt.Sprint(v))
		return true
	})
	sort.Strings(keys)
	say(keys)
	n := 0
	m.Range(func(k, v any) bool {
		n++
		return n < 2
	})
	say("stopped after", n)
	m.Clear()
	say(m.Load("b"))

	made := 0
	p := sync.Pool{New: func() any { made++; return fmt.Sprint("new", made) }}
	p.Put("a")
	p.Put("b")
	p.Put("c")
	say(p.Get(), p.Get(), p.Get(), p.Get(), p.Get())
	var empty sync.Pool
	say(empty.Get() == nil)
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
