# The structs of Go's channel runtime, for chanemu._core and for Cython code that cimports it.
# Names and field groups follow runtime/runtime2.go and runtime/chan.go.
from cpython.ref cimport PyObject
from libc.stdint cimport int64_t, uint64_t, uint32_t


cdef struct sudog:
    # sudog (pseudo-g) represents a g in a wait list, such as for sending/receiving on a channel.
    # g, next, prev, elem and c are protected by the channel the sudog is queued on (here: by
    # the runtime running one goroutine at a time); waitlink is only touched by g.
    PyObject* g            # the waiting Goroutine (borrowed: a waiting G is in allgs)
    sudog* next
    sudog* prev
    PyObject* elem         # owned: a sender's value, or the value handed to a receiver
    int64_t releasetime    # Go's block-profile stamp: always 0, there is no block profile
    bint isSelect          # g is in a select: g.selectDone must be won to wake it
    bint success           # woken by a delivered value (True) or by close (False)
    sudog* waitlink        # g.waiting list, in lock order
    PyObject* c            # owned: the channel


cdef struct waitq:
    sudog* first
    sudog* last


cdef struct gqueue:
    # A FIFO ring of runnable Gs (borrowed references: a runnable G is in allgs).
    PyObject** buf
    Py_ssize_t head
    Py_ssize_t size
    Py_ssize_t cap


cdef class Goroutine:
    # goid, status and the wait state are what dumps show (runtime2.go g).
    cdef readonly long long goid
    cdef int atomicstatus
    cdef int waitreason
    cdef int64_t waitsince
    cdef sudog* param           # the sudog whose operation completed, set by the waker
    cdef sudog* waiting         # sudogs this G waits on, in lock order
    cdef uint32_t selectDone    # someone won the race to wake this G in a select
    cdef bint nilwait           # parked on the nil channel
    cdef object waitobj         # the sync object of a park(reason, obj)
    cdef long long parentGoid
    cdef object gopc            # (file, line, function) of the go statement, None for g1
    cdef object startfn
    cdef object args
    cdef object kwargs
    cdef Runtime rt
    cdef object gr              # the greenlet running it, bound when it first runs
    cdef object __weakref__


cdef class Runtime:
    # One emulated Go program with one P.
    cdef dict allgs             # goid -> Goroutine, every G not dead
    cdef gqueue runq            # p.runq: the P's local run queue, 256 slots as Go's
    cdef gqueue globrunq        # sched.runq: the global run queue (Gosched, overflow)
    cdef Goroutine runnext
    cdef Goroutine curg
    cdef long long goidgen
    cdef sudog* sudogcache[128] # p.sudogbuf
    cdef int nsudogcache
    cdef sudog* central         # sched.sudogcache, linked through next
    cdef readonly long long sudogs_allocated
    cdef list gfree             # idle worker greenlets (gfput/gfget)
    cdef uint64_t randstate
    cdef object fatal_target    # the greenlet a fatal error is thrown into
    cdef object g0              # starts fresh goroutine greenlets from a shallow stack
    cdef readonly bint dead
    cdef readonly bint is_run
    cdef readonly object clock
    cdef bint virtual
    cdef int64_t vnow
    cdef bint idle                  # waiting in findrunnable for the next timer
    cdef readonly unsigned long thread_ident
    cdef public bint safepoint_pending   # other threads queued work for a safe point
    cdef readonly object safepoints      # deque of functions to run at the next safe point
    cdef readonly object wake            # threading.Event: interrupts an idle wait
    cdef readonly object timers     # the timer heap (chanemu._timers.TimerHeap)
    cdef int64_t timer_next         # when of the earliest pending timer (cached)
    cdef public object tracer       # tracer(kind, g, arg): goroutine events, None when off
    cdef int64_t preempt_at         # coarse real clock: the running G yields at a runtime call
    cdef unsigned long long slicetick  # swgen when the current time slice started (checkpreempt_slow)
    cdef int64_t gaveup_at          # coarse real clock when a G last gave up the thread (parked,
                                    # yielded, ended): where the next G's time slice starts
    cdef readonly int nopreempt     # inside the scheduler's own sections (Go's m.locks)
    cdef readonly unsigned long long thread_serial  # its thread's serial (chanemu_thread_serial)
    cdef unsigned long long swgen   # goroutine resumptions so far (Go's schedtick): tells a failed
                                    # switch apart, and starts the next time slice lazily
    cdef bint inited                # __init__ ran (a second call is a TypeError)
    cdef object __weakref__

    cpdef int64_t nanotime(self)
    cdef int runqput(self, Goroutine gp, bint next) except -1
    cdef int runqputslow(self, Goroutine gp) except -1
    cdef Goroutine globrunqget(self, Py_ssize_t max)
    cdef Goroutine getnext(self)
    cdef Goroutine getnext_queued(self)
    cdef void runqremove(self, Goroutine gp)
    cdef sudog* acquireSudog(self) except NULL
    cdef int releaseSudog(self, sudog* s) except -1
    cdef int sudog_refill(self) except -1
    cdef void sudog_spill(self) noexcept
    cdef int64_t next_when(self) except? -1


cdef class Chan:
    # hchan. There is no lock: a runtime runs one goroutine at a time and switches only in gopark.
    cdef Py_ssize_t qcount      # total data in the queue
    cdef Py_ssize_t dataqsiz    # size of the circular queue
    cdef list buf               # the ring of dataqsiz slots (a list, so the GC sees its values)
    cdef uint32_t closed
    cdef object elemtype
    cdef object zero            # the element type's zero value
    cdef Py_ssize_t sendx       # send index
    cdef Py_ssize_t recvx       # receive index
    cdef waitq recvq            # list of recv waiters
    cdef waitq sendq            # list of send waiters
    cdef bint isnil
    cdef readonly long long serial   # creation order: select's lock order (Go: the address)
    cdef public object timer         # the runtime timer feeding a time channel (Go 1.23+)
    cdef readonly unsigned long long owner  # serial of the thread whose program it belongs to
    cdef bint inited                 # __init__ ran (a second call is a TypeError)
    cdef object __weakref__
