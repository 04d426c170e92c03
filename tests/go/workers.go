// A worker pool: jobs fan out over a buffered channel to three workers, results fan in; the
// transcript records which worker took which job and the order results arrive in.
// mode: deterministic
package main

import (
	"fmt"
	"syscall"
	"unsafe"
)

func main() {
	jobs := make(chan int, 4)
	results := make(chan string)
	quit := make(chan bool)
	for w := 1; w <= 3; w++ {
		go func(w int) {
			for j := range jobs {
				say("worker", w, "takes job", j)
				results <- fmt.Sprint("job ", j, " by ", w, " = ", j*j)
			}
			say("worker", w, "stops")
			quit <- true
		}(w)
	}
	go func() {
		for j := 1; j <= 9; j++ {
			jobs <- j
			say("queued", j)
		}
		close(jobs)
		say("all queued")
	}()
	for i := 0; i < 9; i++ {
		say(<-results)
	}
	for w := 0; w < 3; w++ {
		<-quit
	}
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
