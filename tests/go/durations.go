// time.Duration: String of values across the units and at the ends of int64, ParseDuration's
// results and errors, arithmetic, Round/Truncate/Abs, unit conversions, and exact sleeps.
// mode: deterministic
package main

import (
	"fmt"
	"math"
	"syscall"
	"time"
	"unsafe"
)

func main() {
	ds := []time.Duration{0, 1, 999, 1000, 1001, 1500 * time.Microsecond, time.Second,
		time.Second + time.Nanosecond, 90 * time.Minute, -1, -time.Hour - 1,
		math.MaxInt64, math.MinInt64, 4000*time.Hour + 1}
	for _, d := range ds {
		say(int64(d), d)
	}
	for _, s := range []string{"2562047h47m16.854775807s", "-2562047h47m16.854775808s",
		"4000h0m0.000000001s", "1.5h", ".5us", "1µs2ns", "1.0000000001s", "0.3333333333333h",
		"2562047h47m16.854775808s", "1", "1d", "+-1s", "", "1e3s", "5.s", "00012ms"} {
		d, err := time.ParseDuration(s)
		if err != nil {
			say("parse", s, "error:", err)
		} else {
			say("parse", s, "=", int64(d), d)
		}
	}
	d := 2*time.Hour + 3*time.Minute + 4*time.Second + 5*time.Millisecond
	say(d, d/7, d%time.Minute, -d/7, -d%time.Minute, d*3, d-time.Hour)
	for _, m := range []time.Duration{time.Millisecond, time.Second, time.Minute, time.Hour, 7, 0} {
		say("round", m, d.Round(m), (-d).Round(m), "truncate", d.Truncate(m), (-d).Truncate(m))
	}
	say(time.Duration(math.MinInt64).Abs(), (-d).Abs(), d.Round(3*time.Hour))
	say(fmt.Sprintf("%.9f %.9f %.9f %d %d", d.Hours(), d.Minutes(), d.Seconds(),
		d.Milliseconds(), d.Microseconds()))
	var big time.Duration = math.MaxInt64
	say("wrap", big+1)

	start := time.Now()
	time.Sleep(200*time.Millisecond + time.Nanosecond)
	el := time.Since(start)
	say("slept at least 200.000001ms:", el >= 200*time.Millisecond+time.Nanosecond)
	t := start.Add(90 * time.Minute)
	say("t.Sub(start)", t.Sub(start), "start.Sub(t)", start.Sub(t))
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
