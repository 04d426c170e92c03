// sync/atomic's types: counters shared by goroutines that yield between steps, wrap-around of
// the fixed-size integers, a compare-and-swap retry loop, And/Or, Bool, Pointer and Value.
// mode: deterministic
package main

import (
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"unsafe"
)

type config struct{ name string }

func main() {
	var hits atomic.Int64
	var wg sync.WaitGroup
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 100; i++ {
				hits.Add(1)
				if i%10 == 0 {
					runtime.Gosched()
				}
			}
		}()
	}
	wg.Wait()
	say("hits", hits.Load())

	var u32 atomic.Uint32
	say("uint32 wraps", u32.Add(^uint32(0)), u32.Add(2))
	var i32 atomic.Int32
	i32.Store(2147483647)
	say("int32 wraps", i32.Add(1))
	var u64 atomic.Uint64
	say("uint64", u64.Add(^uint64(0)), u64.Swap(10), u64.Load())
	say("cas", u64.CompareAndSwap(9, 1), u64.CompareAndSwap(10, 12), u64.Load())
	say("and/or", u64.And(6), u64.Or(1), u64.Load())

	// A lock-free maximum: retry until the swap succeeds.
	var max atomic.Int64
	for _, v := range []int64{3, 9, 4, 11, 2} {
		for {
			cur := max.Load()
			if v <= cur || max.CompareAndSwap(cur, v) {
				break
			}
		}
	}
	say("max", max.Load())

	var b atomic.Bool
	say("bool", b.Load(), b.Swap(true), b.CompareAndSwap(true, false), b.Load())

	var p atomic.Pointer[config]
	c1 := &config{"one"}
	say("pointer nil", p.Load() == nil, p.CompareAndSwap(nil, c1), p.Load().name)
	say("pointer cas other", p.CompareAndSwap(&config{"one"}, c1), p.Swap(&config{"two"}).name, p.Load().name)

	var v atomic.Value
	say("value", v.Load() == nil, v.CompareAndSwap(nil, "a"), v.Load())
	say("value", v.Swap("b"), v.CompareAndSwap("a", "c"), v.CompareAndSwap("b", "c"), v.Load())
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
