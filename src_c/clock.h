/* The runtime's clocks: nanotime() as Go's (CLOCK_MONOTONIC, through the vDSO). */
#ifndef CHANEMU_CLOCK_H
#define CHANEMU_CLOCK_H
#include <stdint.h>
#include <time.h>

static inline int64_t chanemu_monotonic_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* The park timestamp (g.waitsince): only dumps read it, in minutes, so the coarse clock
   (a few ms of resolution, on the same time base, several times cheaper) is plenty. Go sets
   waitsince lazily, at the first GC that sees the G blocked, for the same reason. */
static inline int64_t chanemu_coarse_ns(void)
{
    struct timespec ts;
#ifdef CLOCK_MONOTONIC_COARSE
    clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
#else
    clock_gettime(CLOCK_MONOTONIC, &ts);
#endif
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* Preemption's fast check reads this thread's copy of its running runtime's rt.preempt_at (one
   runtime runs at a time in a thread), so a channel operation need not look the runtime up; the
   slow path, past it, compares with the runtime's own value. Initial-exec TLS: one load. */
#if defined(__GNUC__)
static __thread int64_t chanemu_preempt_deadline __attribute__((tls_model("initial-exec")));
#else
static _Thread_local int64_t chanemu_preempt_deadline;
#endif

/* The calling thread's identity: a serial number handed out the first time a thread asks, never
   reused. A channel checks its owner on every operation, so this is one thread-local read. A
   thread's id (pthread_self, the thread pointer, Python's thread id) would not do: a thread that
   starts after another ended can get the same one, and the dead thread's channels would pass. */
static unsigned long long chanemu_thread_serials = 0;
/* initial-exec: one read relative to the thread pointer, not a __tls_get_addr call */
static __thread unsigned long long chanemu_tserial __attribute__((tls_model("initial-exec"))) = 0;
static inline unsigned long long chanemu_thread_serial(void)
{
    unsigned long long s = chanemu_tserial;
    if (__builtin_expect(s == 0, 0))
        s = chanemu_tserial = __atomic_add_fetch(&chanemu_thread_serials, 1, __ATOMIC_RELAXED);
    return s;
}

/* Go's cheaprand on 64-bit: wyrand. One seed gives one sequence, the same as the Python twin's. */
static inline uint32_t chanemu_cheaprand(uint64_t *state)
{
    uint64_t s = (*state += 0xa0761d6478bd642fULL);
    __uint128_t m = (__uint128_t)s * (__uint128_t)(s ^ 0xe7037ed1a0b428dbULL);
    return (uint32_t)((uint64_t)(m >> 64) ^ (uint64_t)m);
}

/* cheaprandn: a uniform value in [0, n), Lemire's multiply-shift reduction. */
static inline uint32_t chanemu_cheaprandn(uint64_t *state, uint32_t n)
{
    return (uint32_t)(((uint64_t)chanemu_cheaprand(state) * (uint64_t)n) >> 32);
}
#endif
