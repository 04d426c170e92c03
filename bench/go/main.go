// Command chanemu-bench: the Go twins of the cross-library workloads W1-W6
// (defined in bench/README.md), timed the way chanemu's harness times every
// library: calibrate n so that one repetition takes about -rep seconds, one
// warm-up, then -reps repetitions each after runtime.GC(); it prints the
// median and min-max ns per operation as one line of JSON.
//
//	chanemu-bench [-only W1,W2,W3,W4,W6] [-rep 0.3] [-reps 5]
//	chanemu-bench -w5 100000     (a fresh process for each W5 repetition)
//
// GOMAXPROCS comes from the environment; `python -m chanemu bench` runs this
// with GOMAXPROCS=1 and GOMAXPROCS=2. Go's own channel benchmarks (ChanSync,
// ...) are not here: the bench runs them in place, `go test -bench ... runtime`.
package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// W1 buffered_nonblocking: one goroutine, capacity 128, send(i) then recv();
// ns per pair.
func w1(n int) float64 {
	c := make(chan int, 128)
	t0 := time.Now()
	for i := 0; i < n; i++ {
		c <- i
		<-c
	}
	return float64(time.Since(t0).Nanoseconds()) / float64(n)
}

// W2 pingpong_unbuffered: T1 a <- i; <-b, T2 b <- <-a; ns per round trip.
func w2(n int) float64 {
	a, b, done := make(chan int), make(chan int), make(chan bool, 1)
	t0 := time.Now()
	go func() {
		for i := 0; i < n; i++ {
			b <- <-a
		}
		done <- true
	}()
	for i := 0; i < n; i++ {
		a <- i
		<-b
	}
	<-done
	return float64(time.Since(t0).Nanoseconds()) / float64(n)
}

// W3 prodcons_buffered: one producer sends n ints into capacity 100, one
// consumer receives n; ns per item.
func w3(n int) float64 {
	c, done := make(chan int, 100), make(chan bool, 2)
	t0 := time.Now()
	go func() {
		for i := 0; i < n; i++ {
			c <- i
		}
		done <- true
	}()
	go func() {
		for i := 0; i < n; i++ {
			<-c
		}
		done <- true
	}()
	<-done
	<-done
	return float64(time.Since(t0).Nanoseconds()) / float64(n)
}

// W4 select2: the producer alternates sends on unbuffered x and y; the
// consumer does n 2-way selects receiving from either; ns per item.
func w4(n int) float64 {
	x, y, done := make(chan int), make(chan int), make(chan bool, 2)
	t0 := time.Now()
	go func() {
		for i := 0; i < n; i++ {
			if i&1 != 0 {
				y <- i
			} else {
				x <- i
			}
		}
		done <- true
	}()
	go func() {
		for i := 0; i < n; i++ {
			select {
			case <-x:
			case <-y:
			}
		}
		done <- true
	}()
	<-done
	<-done
	return float64(time.Since(t0).Nanoseconds()) / float64(n)
}

// W6 fanin: 8 producers each send n/8 into one channel of capacity 64, one
// consumer; ns per item.
func w6(n int) float64 {
	per := n / 8
	if per < 1 {
		per = 1
	}
	total := 8 * per
	c, done := make(chan int, 64), make(chan bool, 9)
	t0 := time.Now()
	for p := 0; p < 8; p++ {
		go func() {
			for i := 0; i < per; i++ {
				c <- i
			}
			done <- true
		}()
	}
	go func() {
		for i := 0; i < total; i++ {
			<-c
		}
		done <- true
	}()
	for p := 0; p < 9; p++ {
		<-done
	}
	return float64(time.Since(t0).Nanoseconds()) / float64(total)
}

// W5 spawn_blocked, meant for a fresh process: spawn n goroutines that each
// block forever sending on one unbuffered channel nobody reads (the article's
// leak). Returns ns per spawn-and-block and VmRSS growth per goroutine. The
// clock stops once every goroutine has started its send: each counts itself
// just before `c <- i`, and main yields until the count is n.
func w5(n int) (float64, float64) {
	c := make(chan int)
	var started int64
	runtime.GC()
	rss0 := rss()
	t0 := time.Now()
	for i := 0; i < n; i++ {
		go func(i int) {
			atomic.AddInt64(&started, 1)
			c <- i
		}(i)
	}
	for atomic.LoadInt64(&started) < int64(n) {
		runtime.Gosched()
	}
	runtime.Gosched() // the last goroutines to count themselves reach their send
	ns := float64(time.Since(t0).Nanoseconds()) / float64(n)
	return ns, float64(rss()-rss0) / float64(n)
}

func rss() int64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		line := s.Text()
		if strings.HasPrefix(line, "VmRSS:") {
			fields := strings.Fields(line)
			kb, _ := strconv.ParseInt(fields[1], 10, 64)
			return kb * 1024
		}
	}
	return 0
}

type stats struct {
	Median float64 `json:"median"`
	Min    float64 `json:"min"`
	Max    float64 `json:"max"`
	Reps   int     `json:"reps"`
	N      int     `json:"n"`
}

// calibrate returns the n for which one repetition takes about `seconds`.
func calibrate(fn func(int) float64, seconds float64) int {
	n := 1000
	for {
		t0 := time.Now()
		fn(n)
		took := time.Since(t0).Seconds()
		if took >= seconds/10 {
			m := int(float64(n) * seconds / took)
			if m < 1 {
				m = 1
			}
			return m
		}
		if took < seconds/100 {
			n *= 10
		} else {
			n *= 4
		}
	}
}

func measure(fn func(int) float64, seconds float64, reps int) stats {
	n := calibrate(fn, seconds)
	fn(n) // warm-up
	xs := make([]float64, 0, reps)
	for r := 0; r < reps; r++ {
		runtime.GC()
		xs = append(xs, fn(n))
	}
	sorted := append([]float64(nil), xs...)
	sort.Float64s(sorted)
	med := sorted[len(sorted)/2]
	if len(sorted)%2 == 0 {
		med = (sorted[len(sorted)/2-1] + sorted[len(sorted)/2]) / 2
	}
	return stats{Median: med, Min: sorted[0], Max: sorted[len(sorted)-1], Reps: reps, N: n}
}

var workloads = map[string]func(int) float64{"W1": w1, "W2": w2, "W3": w3, "W4": w4, "W6": w6}

func main() {
	only := flag.String("only", "W1,W2,W3,W4,W6", "comma-separated workloads to measure")
	rep := flag.Float64("rep", 0.3, "seconds per repetition, after calibration")
	reps := flag.Int("reps", 5, "repetitions")
	w5n := flag.Int("w5", 0, "run W5 with this many goroutines (one repetition) and exit")
	flag.Parse()

	enc := json.NewEncoder(os.Stdout)
	if *w5n > 0 {
		ns, bytes := w5(*w5n)
		enc.Encode(map[string]interface{}{"ns": ns, "bytes": bytes, "blocked": *w5n,
			"gomaxprocs": runtime.GOMAXPROCS(0), "go": runtime.Version()})
		os.Exit(0) // the goroutines stay parked, as in the article's program
	}
	out := map[string]interface{}{"gomaxprocs": runtime.GOMAXPROCS(0), "go": runtime.Version()}
	for _, id := range strings.Split(*only, ",") {
		fn, ok := workloads[id]
		if !ok {
			fmt.Fprintf(os.Stderr, "unknown workload %q\n", id)
			os.Exit(2)
		}
		out[id] = measure(fn, *rep, *reps)
	}
	enc.Encode(out)
}
