/* The stack layer on its own (src_c/stack.c, no Python): the pool, the swap, and their figures.
 *
 * Built and run by tests/test_stack_c.py, plain, under AddressSanitizer and under valgrind:
 *     cc -O2 -g -I src_c tests/c/test_stack.c src_c/stack.c -lpthread -lm -o test_stack
 *     ./test_stack [swaps] [parked]
 * `swaps` (default 10,000,000) is the ping-pong's length, `parked` (default 100,000) how many
 * stacks are parked at once; the sanitizer runs pass smaller ones. Exits 0 when every check
 * holds; a failed check prints where and exits 1. Figures go to stdout as "figure: name value".
 */
#define _GNU_SOURCE
#include "stack.h"

#include <errno.h>
#include <fenv.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int failures;

/* Memory figures hold only in a plain build: ASan adds shadow memory and fake stacks, valgrind
 * its own mappings. Those runs still check everything else. */
#if defined(__SANITIZE_ADDRESS__)
#define UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UNDER_ASAN 1
#endif
#endif
#if defined(__has_include)
#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#define UNDER_VALGRIND() RUNNING_ON_VALGRIND
#endif
#endif
#ifndef UNDER_VALGRIND
#define UNDER_VALGRIND() 0
#endif

static int exact_memory(void)
{
#ifdef UNDER_ASAN
    return 0;
#else
    return !UNDER_VALGRIND();
#endif
}

#define CHECK(cond)                                                                    \
    do {                                                                               \
        if (!(cond)) {                                                                 \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);   \
            failures++;                                                                \
            exit(1);                                                                   \
        }                                                                              \
    } while (0)

static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e9 + ts.tv_nsec;
}

/* A field of /proc/self/status in kB ("VmRSS", "VmPTE"), or -1. */
static long status_kb(const char *field)
{
    FILE *f = fopen("/proc/self/status", "r");
    if (f == NULL)
        return -1;
    char line[256];
    long v = -1;
    size_t n = strlen(field);
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, field, n) == 0 && line[n] == ':') {
            v = strtol(line + n + 1, NULL, 10);
            break;
        }
    }
    fclose(f);
    return v;
}

static long count_mappings(void)
{
    FILE *f = fopen("/proc/self/maps", "r");
    if (f == NULL)
        return -1;
    long n = 0;
    int c;
    while ((c = fgetc(f)) != EOF)
        n += c == '\n';
    fclose(f);
    return n;
}

static ce_stack_stats stats(void)
{
    ce_stack_stats st;
    ce_stack_get_stats(&st);
    return st;
}

/* ---- ping-pong between two stacks ----------------------------------------------------------- */

static ce_ctx main_ctx, ping_ctx, pong_ctx;
static long rounds_left, pong_count;
static double best_burst_ns = 1e300;     /* per swap, over bursts of PING_BURST round trips */

enum { PING_BURST = 10000 };

static void ping(void *arg)
{
    (void)arg;
    while (rounds_left > 0) {
        long n = rounds_left < PING_BURST ? rounds_left : PING_BURST;
        double t0 = now_ns();
        for (long i = 0; i < n; i++)
            ce_ctx_swap(&ping_ctx, &pong_ctx);
        double per_swap = (now_ns() - t0) / (double)(2 * n);
        if (n == PING_BURST && per_swap < best_burst_ns)
            best_burst_ns = per_swap;
        rounds_left -= n;
    }
    ce_ctx_swap_final(&ping_ctx, &main_ctx);
}

static void pong(void *arg)
{
    (void)arg;
    for (;;) {
        pong_count++;
        ce_ctx_swap(&pong_ctx, &ping_ctx);
    }
}

/* The mean over all swaps counts whatever else the machine runs meanwhile; the best burst is
 * closer to the swap's own cost. */
static void test_ping_pong(long swaps)
{
    ce_stack *a = ce_stack_get(), *b = ce_stack_get();
    CHECK(a != NULL && b != NULL && a != b);
    ce_ctx_make(&ping_ctx, a, ping, NULL);
    ce_ctx_make(&pong_ctx, b, pong, NULL);
    rounds_left = swaps / 2;
    pong_count = 0;
    double t0 = now_ns();
    ce_ctx_swap(&main_ctx, &ping_ctx);
    double dt = now_ns() - t0;
    CHECK(pong_count == swaps / 2);
    printf("figure: ns_per_swap %.2f (%ld swaps)\n", dt / (double)(swaps / 2 * 2), swaps / 2 * 2);
    if (best_burst_ns < 1e300)
        printf("figure: ns_per_swap_best_burst %.2f\n", best_burst_ns);
    /* pong is parked forever: its stack is dropped without unwinding, as at program end */
    ce_stack_put(a);
    ce_stack_put(b);
}

/* ---- many stacks parked at once ------------------------------------------------------------- */

typedef struct parked {
    ce_ctx ctx;
    ce_stack *stack;
    long id, seen;
} parked;

static ce_ctx *parked_home;

static void park_entry(void *arg)
{
    parked *p = arg;
    volatile char frame[256];       /* a small frame of its own, as a goroutine's would be */
    memset((char *)frame, (int)(p->id & 0x7f), sizeof frame);
    ce_ctx_swap(&p->ctx, parked_home);
    p->seen = frame[p->id % sizeof frame] + p->id;
    ce_ctx_swap_final(&p->ctx, parked_home);
}

static void test_parked(long n)
{
    parked *ps = calloc((size_t)n, sizeof *ps);
    CHECK(ps != NULL);
    ce_ctx home = {0};
    parked_home = &home;
    long maps0 = count_mappings(), rss0 = status_kb("VmRSS"), pte0 = status_kb("VmPTE");
    ce_stack_stats st0 = stats();
    double t0 = now_ns();
    for (long i = 0; i < n; i++) {
        ps[i].id = i;
        ps[i].stack = ce_stack_get();
        CHECK(ps[i].stack != NULL);
        ce_ctx_make(&ps[i].ctx, ps[i].stack, park_entry, &ps[i]);
        ce_ctx_swap(&home, &ps[i].ctx);
    }
    double dt = now_ns() - t0;
    long maps1 = count_mappings(), rss1 = status_kb("VmRSS"), pte1 = status_kb("VmPTE");
    ce_stack_stats st1 = stats();
    CHECK(st1.in_use == st0.in_use + (size_t)n);
    printf("figure: parked %ld stacks of %zu KiB\n", n, ce_stack_size() >> 10);
    printf("figure: get_make_first_swap_ns %.1f\n", dt / (double)n);
    printf("figure: rss_bytes_per_parked_stack %.0f\n", (rss1 - rss0) * 1024.0 / (double)n);
    printf("figure: page_table_bytes_per_parked_stack %.0f\n", (pte1 - pte0) * 1024.0 / (double)n);
    printf("figure: mappings_before %ld after %ld\n", maps0, maps1);
    printf("figure: mapped_mib %.0f\n", (double)st1.mapped_bytes / (1 << 20));
    /* a map entry per slab at most, never one per stack */
    if (exact_memory())
        CHECK(maps1 - maps0 <= 64);
    for (long i = 0; i < n; i++) {
        ce_ctx_swap(&home, &ps[i].ctx);
        CHECK(ps[i].seen == (i & 0x7f) + i);
        ce_stack_put(ps[i].stack);
    }
    ce_stack_stats st2 = stats();
    CHECK(st2.in_use == st0.in_use);
    CHECK(st2.free >= (size_t)n);
    /* all but a small reserve of idle stacks gave their pages back */
    if (n > 320)
        CHECK(st2.released_bytes - st0.released_bytes >= (size_t)(n - 320) * ce_stack_size());
    long rss2 = status_kb("VmRSS");
    printf("figure: rss_kib parked %ld after_all_ended %ld (before %ld)\n", rss1, rss2, rss0);
    if (exact_memory())
        CHECK(rss2 - rss0 < (rss1 - rss0) / 2 + 4096);
    free(ps);
}

/* ---- reuse through the free list, entry on fresh and reused stacks -------------------------- */

static ce_ctx reuse_home, reuse_ctx;
static long reuse_ran;

static void reuse_entry(void *arg)
{
    reuse_ran += (long)(intptr_t)arg;
    ce_ctx_swap_final(&reuse_ctx, &reuse_home);
}

static void run_once(ce_stack *s, long tag)
{
    long before = reuse_ran;
    ce_ctx_make(&reuse_ctx, s, reuse_entry, (void *)(intptr_t)tag);
    ce_ctx_swap(&reuse_home, &reuse_ctx);
    CHECK(reuse_ran == before + tag);
}

static void test_reuse(void)
{
    ce_stack *s = ce_stack_get();
    CHECK(s != NULL);
    CHECK(ce_stack_hi(s) - ce_stack_lo(s) == (long)ce_stack_size());
    CHECK(((uintptr_t)ce_stack_hi(s) & 15) == 0);
    run_once(s, 1);
    ce_stack_put(s);
    ce_stack_stats st = stats();
    ce_stack *again = ce_stack_get();
    CHECK(again == s);                  /* LIFO: the hot stack comes back */
    CHECK(stats().free == st.free - 1);
    run_once(again, 2);
    run_once(again, 3);                 /* a stack can be made again while still held */
    ce_stack_put(again);

    /* more idle stacks than the resident reserve: pages go back, and the stacks still work */
    enum { N = 1000 };
    ce_stack *many[N];
    for (int i = 0; i < N; i++) {
        many[i] = ce_stack_get();
        CHECK(many[i] != NULL);
        run_once(many[i], 1);
    }
    size_t released0 = stats().released_bytes;
    for (int i = 0; i < N; i++)
        ce_stack_put(many[i]);
    CHECK(stats().released_bytes > released0);
    for (int i = 0; i < N; i++) {
        many[i] = ce_stack_get();
        run_once(many[i], 5);
    }
    for (int i = 0; i < N; i++)
        ce_stack_put(many[i]);
}

/* ---- deep recursion within the stack's size ------------------------------------------------- */

static ce_ctx deep_home, deep_ctx;
static char *deep_lowest;

__attribute__((noinline)) static long recurse(long depth)
{
    volatile char pad[512];
    pad[0] = (char)depth;
    pad[511] = 1;
    /* the frame, not pad: under ASan's use-after-return check, pad lives on a fake stack */
    char *here = __builtin_frame_address(0);
    if (here < deep_lowest)
        deep_lowest = here;
    long below = depth > 0 ? recurse(depth - 1) : 0;
    return below + pad[0] + pad[511] - (char)depth;
}

static void deep_entry(void *arg)
{
    long depth = (long)(intptr_t)arg;
    long got = recurse(depth);
    CHECK(got == depth + 1);
    ce_ctx_swap_final(&deep_ctx, &deep_home);
}

/* Parks for good a few frames down, each with an array (under ASan: poisoned redzones). */
static ce_ctx dropped_ctx;

__attribute__((noinline)) static void park_deep(int levels)
{
    volatile char buf[200];
    buf[0] = (char)levels;
    if (levels > 0)
        park_deep(levels - 1);
    else
        ce_ctx_swap(&dropped_ctx, &deep_home);
    buf[1] = buf[0];
}

static void dropped_entry(void *arg)
{
    (void)arg;
    park_deep(50);
}

static void test_deep_recursion(void)
{
    /* a goroutine discarded while parked: its stack is put back without unwinding, and the
     * recursion below reuses the same stack (LIFO) over the frames it left behind */
    ce_stack *s = ce_stack_get();
    ce_ctx_make(&dropped_ctx, s, dropped_entry, NULL);
    ce_ctx_swap(&deep_home, &dropped_ctx);
    ce_stack_put(s);
    CHECK(ce_stack_get() == s);
    /* 512-byte locals plus call overhead: about 3/4 of the stack */
    long depth = (long)(ce_stack_size() * 3 / 4 / 640);
    deep_lowest = ce_stack_hi(s);
    ce_ctx_make(&deep_ctx, s, deep_entry, (void *)(intptr_t)depth);
    ce_ctx_swap(&deep_home, &deep_ctx);
    CHECK(deep_lowest >= ce_stack_lo(s));
    CHECK(deep_lowest < ce_stack_lo(s) + ce_stack_size() / 2);
    printf("figure: recursion %ld levels used %zu KiB of %zu KiB\n", depth,
           (size_t)(ce_stack_hi(s) - deep_lowest) >> 10, ce_stack_size() >> 10);
    ce_stack_put(s);
}

/* ---- floating-point state across swaps ------------------------------------------------------ */

static ce_ctx fp_home, fp_ctx;
static int fp_ok;

__attribute__((noinline)) static double churn(double x)
{
    return x * 1.0000001 + 0.5;
}

/* Eight doubles live across `swaps` swaps from self to other (where the ABI has callee-saved
 * FP registers, d8-d15 on aarch64, the compiler keeps them there), checked against the same
 * arithmetic done in memory; the rounding mode must be the one this side set, every time. */
static int doubles_survive(double seed, ce_ctx *self, ce_ctx *other, int swaps)
{
    int mode = fegetround();
    double a = seed, b = seed + 1, c = seed + 2, d = seed + 3, e = seed + 4, f = seed + 5,
           g = seed + 6, h = seed + 7;
    for (int i = 0; i < swaps; i++) {
        ce_ctx_swap(self, other);
        CHECK(fegetround() == mode);
        a = churn(a);
        b = churn(b);
        c = churn(c);
        d = churn(d);
        e = churn(e);
        f = churn(f);
        g = churn(g);
        h = churn(h);
    }
    double expect = 0;
    for (int k = 0; k < 8; k++) {
        volatile double v = seed + k;
        for (int i = 0; i < swaps; i++)
            v = churn(v);
        expect += v;
    }
    return a + b + c + d + e + f + g + h == expect;
}

enum { FP_SWAPS = 1000 };

static void fp_entry(void *arg)
{
    (void)arg;
    /* a fresh stack starts with the rounding mode its creator had at ce_ctx_make */
    CHECK(fegetround() == FE_TONEAREST);
    fesetround(FE_UPWARD);
    fp_ok = doubles_survive(-3.75, &fp_ctx, &fp_home, FP_SWAPS);
    ce_ctx_swap_final(&fp_ctx, &fp_home);
}

static void test_fp_state(void)
{
    ce_stack *s = ce_stack_get();
    CHECK(fegetround() == FE_TONEAREST);
    ce_ctx_make(&fp_ctx, s, fp_entry, NULL);
    fp_ok = -1;
    fesetround(FE_DOWNWARD);
    CHECK(doubles_survive(11.5, &fp_home, &fp_ctx, FP_SWAPS));
    ce_ctx_swap(&fp_home, &fp_ctx);     /* lets the goroutine finish */
    CHECK(fegetround() == FE_DOWNWARD);
    CHECK(fp_ok == 1);
    fesetround(FE_TONEAREST);
    ce_stack_put(s);
}

/* ---- sizes, figures, misuse ----------------------------------------------------------------- */

static void test_size_and_errors(void)
{
    CHECK(ce_stack_set_size(1 << 20) == -1 && errno == EBUSY);    /* stacks exist */
    CHECK(ce_stack_set_size(100) == -1 && errno == EINVAL);
    ce_stack_stats st = stats();
    CHECK(st.mapped_bytes >= (st.in_use + st.free) * ce_stack_size());
}

static void return_entry(void *arg)
{
    (void)arg;
}

/* Misuse ends the process with a message, never corrupts memory: checked in a child. */
static void expect_abort(void (*body)(void), const char *what)
{
    fflush(stdout);
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        freopen("/dev/null", "w", stderr);
        body();
        _exit(0);
    }
    int status;
    CHECK(waitpid(pid, &status, 0) == pid);
    if (!(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT)) {
        fprintf(stderr, "%s: expected SIGABRT, got status 0x%x\n", what, status);
        CHECK(0);
    }
}

static void entry_returns(void)
{
    ce_ctx home = {0}, ctx;
    ce_stack *s = ce_stack_get();
    ce_ctx_make(&ctx, s, return_entry, NULL);
    ce_ctx_swap(&home, &ctx);
}

static void double_put(void)
{
    ce_stack *s = ce_stack_get();
    ce_stack_put(s);
    ce_stack_put(s);
}

/* ---- get/put costs --------------------------------------------------------------------------- */

static void test_get_put_cost(long n)
{
    double t0 = now_ns();
    for (long i = 0; i < n; i++) {
        ce_stack *s = ce_stack_get();
        ce_stack_put(s);
    }
    printf("figure: get_put_free_list_ns %.1f\n", (now_ns() - t0) / (double)n);
    /* carving: more stacks than are free, held at once */
    long m = (long)stats().free + n / 10 + 1;
    ce_stack **held = malloc((size_t)m * sizeof *held);
    CHECK(held != NULL);
    for (long i = 0; i < m - n / 10 - 1; i++)
        held[i] = ce_stack_get();
    t0 = now_ns();
    for (long i = m - n / 10 - 1; i < m; i++)
        held[i] = ce_stack_get();
    printf("figure: get_carve_ns %.1f\n", (now_ns() - t0) / (double)(n / 10 + 1));
    for (long i = 0; i < m; i++)
        ce_stack_put(held[i]);
    free(held);
}

/* ---- several threads share the pool ---------------------------------------------------------- */

typedef struct worker {
    ce_ctx home, ctx;
    long spins;
} worker;

static void worker_entry(void *arg)
{
    worker *w = arg;
    for (;;) {
        w->spins++;
        ce_ctx_swap(&w->ctx, &w->home);
    }
}

static void *worker_main(void *arg)
{
    worker *w = arg;
    for (int i = 0; i < 2000; i++) {
        ce_stack *s = ce_stack_get();
        CHECK(s != NULL);
        ce_ctx_make(&w->ctx, s, worker_entry, w);
        for (int k = 0; k < 5; k++)
            ce_ctx_swap(&w->home, &w->ctx);
        ce_stack_put(s);
    }
    return NULL;
}

static void test_threads(void)
{
    enum { T = 4 };
    pthread_t th[T];
    worker ws[T];
    memset(ws, 0, sizeof ws);
    size_t in_use = stats().in_use;
    for (int i = 0; i < T; i++)
        CHECK(pthread_create(&th[i], NULL, worker_main, &ws[i]) == 0);
    for (int i = 0; i < T; i++) {
        CHECK(pthread_join(th[i], NULL) == 0);
        CHECK(ws[i].spins == 2000 * 5);
    }
    CHECK(stats().in_use == in_use);
}

int main(int argc, char **argv)
{
    long swaps = argc > 1 ? atol(argv[1]) : 10000000;
    long parked = argc > 2 ? atol(argv[2]) : 100000;
    /* before the first stack, the size can still be set (here: to what it already is) */
    size_t size = ce_stack_size();
    CHECK(size >= (16 << 10));
    CHECK(ce_stack_set_size(size + 1) == 0 && ce_stack_size() > size);
    CHECK(ce_stack_set_size(size) == 0 && ce_stack_size() == size);
    test_ping_pong(swaps);
    test_reuse();
    test_deep_recursion();
    test_fp_state();
    test_size_and_errors();
    test_get_put_cost(swaps / 10 > 1000 ? swaps / 10 : 1000);
    test_threads();
    test_parked(parked);
    expect_abort(entry_returns, "an entry that returns");
    expect_abort(double_put, "a stack put twice");
    ce_stack_stats st = stats();
    CHECK(st.in_use == 0);
    printf("figure: final mapped_mib %.0f free %zu released_mib %.0f\n",
           (double)st.mapped_bytes / (1 << 20), st.free, (double)st.released_bytes / (1 << 20));
    printf("ok\n");
    return failures != 0;
}
