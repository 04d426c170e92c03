/* Goroutine C stacks and the context swap: the implementation of stack.h.
 *
 * The pool. Stacks live in slabs: one mmap(MAP_NORESERVE) each, holding a page-rounded table of
 * stack headers followed by the stacks themselves, back to back. Only the pages a stack really
 * touches cost memory. A slab is one kernel map entry (adjacent slabs usually merge into one);
 * nothing inside it is ever split by a protection change. Slabs double in size from a small
 * first one up to a cap, so a program with a few goroutines maps little and one with a million
 * maps a few hundred slabs. Slabs are never unmapped: a stack, once carved, stays valid.
 *
 * A finished stack goes on the `hot` list (LIFO: the next goroutine gets the stack whose pages
 * are still resident and in cache). When the hot list grows past HOT_HIGH, all but the newest
 * HOT_KEEP are taken off, their pages given back with MADV_DONTNEED (sorted by address, so the
 * stacks of goroutines that ended together go back in a few calls, not one per stack), and
 * they move to the `cold` list. A steady state (ping-pong, a worker pool, spawn and end at a
 * steady rate) never makes a system call; only a burst of more than HOT_HIGH idle stacks does,
 * once per batch of contiguous stacks.
 *
 * Invariants, under pool_lock: every carved stack is in exactly one of: in use (handed out),
 * the hot list, the cold list, or a batch being released (off both lists, counted in n_limbo).
 * n_in_use + n_hot + n_cold + n_limbo == the number of stacks carved so far.
 *
 * The swap. ce__swap (top-level asm below: setuptools compiles no .S file) pushes the
 * callee-saved registers on the running stack, stores the stack pointer in *from_sp, loads
 * to_sp and pops the same set from there. Everything else the C ABI lets a callee clobber, so
 * a call to it costs the compiler what any opaque call does. A fresh stack is laid out as if it
 * had swapped away just before entering ce__boot, which calls chanemu_stack_start(entry, arg)
 * on a 16-byte aligned stack.
 */
#define _GNU_SOURCE
#include "stack.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

/* ---- sanitizers and valgrind ------------------------------------------------------------ */

#if defined(__SANITIZE_ADDRESS__)
#define CE_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define CE_ASAN 1
#endif
#endif

#ifdef CE_ASAN
#include <sanitizer/asan_interface.h>
#include <sanitizer/common_interface_defs.h>
#endif

#if defined(__has_include)
#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#define CE_VALGRIND 1
#endif
#endif

/* ---- which swap --------------------------------------------------------------------------- */

/* CHANEMU_STACK_UCONTEXT=1 at compile time picks the fallback anywhere (its test uses it). */
#if defined(CHANEMU_STACK_UCONTEXT) && CHANEMU_STACK_UCONTEXT
#include <ucontext.h>
#define CE_SWAP_UCONTEXT 1
#elif defined(__ELF__) && defined(__x86_64__)
#define CE_SWAP_ASM 1
#elif defined(__ELF__) && defined(__aarch64__)
#define CE_SWAP_ASM 1
#elif defined(__has_include)
#if __has_include(<ucontext.h>)
#define CE_SWAP_UCONTEXT 1
#include <ucontext.h>
#endif
#endif
#if !defined(CE_SWAP_ASM) && !defined(CE_SWAP_UCONTEXT)
#error "chanemu stack.c: no context swap for this platform (an ELF x86-64 or aarch64 target, or <ucontext.h>, is needed)"
#endif

/* ---- tunables ----------------------------------------------------------------------------- */

/* 1 MiB: measured, recursing to CPython's default limit of 1000 levels through a C call per
 * level (map(), a class's __init__, repr()) needs up to 724 KiB of C stack (3.13, map());
 * the margin covers the frames under the goroutine's function. A recursion through sorted()'s
 * key needs 2.4-5 MiB for 1000 levels: there the switch layer's C-stack budget raises
 * RecursionError first. Untouched pages cost nothing but virtual space. */
#define DEFAULT_STACK_SIZE ((size_t)1 << 20)
#define MIN_STACK_SIZE ((size_t)16 << 10)
#define MAX_STACK_SIZE ((size_t)1 << 30)

#define FIRST_SLAB_STACKS 16
#define MAX_SLAB_BYTES ((size_t)1 << 30)   /* slabs double up to this (or one stack) */
#define HOT_KEEP 64                        /* idle stacks kept resident after a release */
#define HOT_HIGH 320                       /* idle resident stacks that trigger a release */

/* ---- the pool ----------------------------------------------------------------------------- */

enum { ST_IN_USE = 1, ST_HOT, ST_COLD, ST_LIMBO };

struct ce_stack {
    char *lo;
    ce_stack *next;            /* hot or cold list link */
    unsigned valgrind_id;
    unsigned char state;
    unsigned char ran;         /* has been handed out before: ASan's shadow may be stale */
};

typedef struct ce_slab {
    struct ce_slab *next;
    char *stacks_base;         /* the first stack's lo */
    size_t nstacks, carved;
    ce_stack headers[];
} ce_slab;

static int pool_lock_word;
static size_t stack_size;              /* 0 until fixed: by ce_stack_set_size or first use */
static int size_in_use;                /* a ce_stack_get has begun: the size can no longer change */
static size_t page_size;
static ce_slab *slabs;                 /* newest first; slabs->carved < nstacks while room */
static size_t next_slab_stacks;       /* 0 until the first slab is mapped */
static ce_stack *hot, *cold;
static size_t n_in_use, n_hot, n_cold, n_limbo;
static size_t mapped_bytes, released_bytes;

/* A spinlock: every critical section is a few loads and stores (system calls happen outside
 * it), so an uncontended acquire is one atomic exchange; a waiter yields the CPU rather than
 * burn it while the holder is descheduled. */
static void pool_lock(void)
{
    while (__atomic_exchange_n(&pool_lock_word, 1, __ATOMIC_ACQUIRE)) {
        while (__atomic_load_n(&pool_lock_word, __ATOMIC_RELAXED))
            sched_yield();
    }
}

static void pool_unlock(void)
{
    __atomic_store_n(&pool_lock_word, 0, __ATOMIC_RELEASE);
}

static size_t round_up(size_t n, size_t to)
{
    return (n + to - 1) / to * to;
}

static size_t get_page_size(void)
{
    if (page_size == 0) {
        long p = sysconf(_SC_PAGESIZE);
        page_size = p > 0 ? (size_t)p : 4096;
    }
    return page_size;
}

/* CHANEMU_STACK_SIZE: bytes, or with a k/K or m/M suffix (KiB, MiB). A value that does not
 * parse or is out of range is reported once on stderr and the default used: this layer runs
 * below Python and cannot raise. (The switch layer never lets it get here: it parses the
 * variable itself, fails the import on a bad one, and sets the size first.) */
static size_t size_from_env(void)
{
    const char *s = getenv("CHANEMU_STACK_SIZE");
    if (s == NULL || *s == '\0')
        return DEFAULT_STACK_SIZE;
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (*end == 'k' || *end == 'K') {
        v <<= 10;
        end++;
    } else if (*end == 'm' || *end == 'M') {
        v <<= 20;
        end++;
    }
    if (errno != 0 || end == s || *end != '\0' || v < MIN_STACK_SIZE || v > MAX_STACK_SIZE) {
        fprintf(stderr, "chanemu: CHANEMU_STACK_SIZE=%s is not a size between %zu and %zu "
                "bytes (k and m suffixes allowed); using %zu\n",
                s, MIN_STACK_SIZE, MAX_STACK_SIZE, DEFAULT_STACK_SIZE);
        return DEFAULT_STACK_SIZE;
    }
    return round_up((size_t)v, get_page_size());
}

/* pool_lock held. */
static size_t fix_size_locked(void)
{
    if (stack_size == 0)
        __atomic_store_n(&stack_size, size_from_env(), __ATOMIC_RELEASE);
    return stack_size;
}

size_t ce_stack_size(void)
{
    size_t n = __atomic_load_n(&stack_size, __ATOMIC_ACQUIRE);
    if (n != 0)
        return n;
    pool_lock();
    n = fix_size_locked();
    pool_unlock();
    return n;
}

int ce_stack_set_size(size_t size)
{
    if (size < MIN_STACK_SIZE || size > MAX_STACK_SIZE) {
        errno = EINVAL;
        return -1;
    }
    pool_lock();
    int busy = size_in_use;
    if (!busy)
        __atomic_store_n(&stack_size, round_up(size, get_page_size()), __ATOMIC_RELEASE);
    pool_unlock();
    if (busy) {
        errno = EBUSY;
        return -1;
    }
    return 0;
}

char *ce_stack_lo(const ce_stack *s)
{
    return s->lo;
}

char *ce_stack_hi(const ce_stack *s)
{
    return s->lo + stack_size;
}

/* A new slab of `n` stacks of `size` bytes, not yet linked in; NULL with errno on failure. */
static ce_slab *map_slab(size_t n, size_t size)
{
    size_t head = round_up(sizeof(ce_slab) + n * sizeof(ce_stack), get_page_size());
    size_t bytes = head + n * size;
    int flags = MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE;
#ifdef MAP_STACK
    flags |= MAP_STACK;
#endif
    void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, flags, -1, 0);
    if (p == MAP_FAILED)
        return NULL;
#ifdef MADV_NOHUGEPAGE
    /* A huge page would make the first touch of one stack's top resident for 2 MiB of
     * neighbours (transparent huge pages set to "always"). The flag covers the whole mapping,
     * so it splits nothing. */
    madvise(p, bytes, MADV_NOHUGEPAGE);
#endif
    ce_slab *slab = p;
    slab->next = NULL;
    slab->stacks_base = (char *)p + head;
    slab->nstacks = n;
    slab->carved = 0;
    return slab;
}

static size_t slab_bytes(const ce_slab *slab)
{
    return (size_t)(slab->stacks_base - (char *)slab) + slab->nstacks * stack_size;
}

/* pool_lock held, the newest slab has room. A never-used header: lo set, the rest zero
 * (the mapping starts zeroed). */
static ce_stack *carve_locked(void)
{
    ce_slab *slab = slabs;
    size_t i = slab->carved++;
    ce_stack *s = &slab->headers[i];
    s->lo = slab->stacks_base + i * stack_size;
    return s;
}

static int slab_has_room(void)
{
    return slabs != NULL && slabs->carved < slabs->nstacks;
}

/* pool_lock held on entry and on return; dropped around mmap. A stack carved from the newest
 * slab, mapping a new one if it is full. NULL with errno=ENOMEM when mmap fails. */
static ce_stack *carve_or_map_locked(void)
{
    if (next_slab_stacks == 0) {
        size_t cap = MAX_SLAB_BYTES / stack_size;
        next_slab_stacks = FIRST_SLAB_STACKS < cap ? FIRST_SLAB_STACKS : cap > 0 ? cap : 1;
    }
    while (!slab_has_room()) {
        size_t size = stack_size, n = next_slab_stacks;
        pool_unlock();
        ce_slab *fresh = map_slab(n, size);
        pool_lock();
        if (fresh == NULL) {
            errno = ENOMEM;
            return NULL;
        }
        if (slab_has_room()) {
            /* another thread mapped one meanwhile: ours is not needed */
            pool_unlock();
            munmap(fresh, (size_t)(fresh->stacks_base - (char *)fresh) + n * size);
            pool_lock();
            continue;
        }
        fresh->next = slabs;
        slabs = fresh;
        mapped_bytes += slab_bytes(fresh);
        if (next_slab_stacks * 2 * stack_size <= MAX_SLAB_BYTES)
            next_slab_stacks *= 2;
    }
    return carve_locked();
}

static void register_with_valgrind(ce_stack *s)
{
#ifdef CE_VALGRIND
    /* Stacks sit back to back: without this, valgrind would take a swap between neighbours
     * for a huge frame being pushed. Registered once and never deregistered: it stays mapped. */
    s->valgrind_id = VALGRIND_STACK_REGISTER(s->lo, s->lo + stack_size - 1);
#else
    (void)s;
#endif
}

/* A child forked while another thread held pool_lock would find it held forever: the lock is
 * taken around fork, released on both sides. */
static void fork_prepare(void)
{
    pool_lock();
}

static void fork_done(void)
{
    pool_unlock();
}

static void register_fork_handlers(void)
{
    pthread_atfork(fork_prepare, fork_done, fork_done);
}

ce_stack *ce_stack_get(void)
{
    static pthread_once_t fork_once = PTHREAD_ONCE_INIT;
    pthread_once(&fork_once, register_fork_handlers);
    pool_lock();
    fix_size_locked();
    size_in_use = 1;
    ce_stack *s;
    int fresh = 0;
    if (hot != NULL) {
        s = hot;
        hot = s->next;
        n_hot--;
    } else if (cold != NULL) {
        s = cold;
        cold = s->next;
        n_cold--;
    } else {
        s = carve_or_map_locked();
        if (s == NULL) {
            pool_unlock();
            return NULL;
        }
        fresh = 1;
    }
    s->next = NULL;
    s->state = ST_IN_USE;
    n_in_use++;
    pool_unlock();
    if (fresh)
        register_with_valgrind(s);
    return s;
}

static int by_address(const void *a, const void *b)
{
    const ce_stack *x = *(ce_stack *const *)a, *y = *(ce_stack *const *)b;
    return (x->lo > y->lo) - (x->lo < y->lo);
}

/* No lock held. Gives back the pages of n idle stacks, one madvise per run of neighbours
 * (stacks of different slabs are merged only when the slabs happen to be adjacent, which is
 * then one mapping or two neighbouring ones: madvise accepts a range over both). */
static void release_pages(ce_stack **batch, size_t n, size_t size)
{
    qsort(batch, n, sizeof batch[0], by_address);
    size_t i = 0;
    while (i < n) {
        char *start = batch[i]->lo, *end = start + size;
        i++;
        while (i < n && batch[i]->lo == end) {
            end += size;
            i++;
        }
        madvise(start, (size_t)(end - start), MADV_DONTNEED);
    }
}

/* pool_lock held, n_hot >= HOT_HIGH. Detaches all but the newest HOT_KEEP hot stacks into
 * batch (room for HOT_HIGH) and returns how many. */
static size_t take_release_batch_locked(ce_stack **batch)
{
    ce_stack *keep_last = hot;
    for (size_t i = 1; i < HOT_KEEP; i++)
        keep_last = keep_last->next;
    size_t n = 0;
    for (ce_stack *s = keep_last->next; s != NULL; s = s->next) {
        s->state = ST_LIMBO;
        batch[n++] = s;
    }
    keep_last->next = NULL;
    n_hot -= n;
    n_limbo += n;
    return n;
}

static void release_batch(void)
{
    ce_stack *batch[HOT_HIGH];
    size_t n = take_release_batch_locked(batch);
    size_t size = stack_size;
    pool_unlock();
    release_pages(batch, n, size);
    pool_lock();
    for (size_t i = 0; i < n; i++) {
        batch[i]->state = ST_COLD;
        batch[i]->next = cold;
        cold = batch[i];
    }
    n_cold += n;
    n_limbo -= n;
    released_bytes += n * size;
}

void ce_stack_put(ce_stack *s)
{
    pool_lock();
    if (s->state != ST_IN_USE) {
        pool_unlock();
        fprintf(stderr, "chanemu: ce_stack_put of a stack that is not in use (state %d)\n",
                s->state);
        abort();
    }
    s->state = ST_HOT;
    s->ran = 1;
    s->next = hot;
    hot = s;
    n_hot++;
    n_in_use--;
    if (n_hot >= HOT_HIGH)
        release_batch();
    pool_unlock();
}

void ce_stack_get_stats(ce_stack_stats *out)
{
    pool_lock();
    out->mapped_bytes = mapped_bytes;
    out->in_use = n_in_use;
    out->free = n_hot + n_cold + n_limbo;
    out->released_bytes = released_bytes;
    pool_unlock();
}

/* ---- ASan's view of the switch ------------------------------------------------------------ */

#ifdef CE_ASAN
/* The context that swapped to the running one: its bounds are filled in from what ASan
 * reports, the first time, for a thread's own stack (lo == NULL). Per thread: each thread
 * swaps among its own contexts. */
static __thread ce_ctx *asan_came_from;

static void asan_before(ce_ctx *from, ce_ctx *to, int final)
{
    asan_came_from = from;
    __sanitizer_start_switch_fiber(final ? NULL : &from->asan_fake_stack, to->lo, to->size);
}

static void asan_after(void *fake_stack)
{
    const void *lo;
    size_t size;
    __sanitizer_finish_switch_fiber(fake_stack, &lo, &size);
    ce_ctx *prev = asan_came_from;
    if (prev != NULL && prev->lo == NULL) {
        prev->lo = (void *)lo;
        prev->size = size;
    }
}

/* A reused stack may hold the poisoned redzones of frames that were never unwound (a goroutine
 * discarded at program end): clear them before new frames land there. */
static void asan_clean(ce_stack *s)
{
    if (s->ran)
        __asan_unpoison_memory_region(s->lo, stack_size);
}
#else
#define asan_before(from, to, final) ((void)0)
#define asan_after(fake_stack) ((void)0)
#define asan_clean(s) ((void)0)
#endif

/* Where a fresh stack's first swap lands (through ce__boot). Never returns. */
__attribute__((visibility("hidden"), noreturn, used))
void chanemu_stack_start(void (*entry)(void *), void *arg);

void chanemu_stack_start(void (*entry)(void *), void *arg)
{
    asan_after(NULL);
    entry(arg);
    fprintf(stderr, "chanemu: a goroutine stack's entry function returned; it must end by "
            "swapping away for good (ce_ctx_swap_final)\n");
    abort();
}

static void ctx_bounds(ce_ctx *ctx, ce_stack *s)
{
    ctx->lo = s->lo;
    ctx->size = stack_size;
    ctx->asan_fake_stack = NULL;
    ctx->valgrind_id = s->valgrind_id;
}

/* The opening and closing lines of a global, hidden function in top-level asm. */
#define ASM_FUNC_BEGIN(name) \
    ".p2align 4\n.globl " name "\n.hidden " name "\n.type " name ", %function\n" name ":\n"
#define ASM_FUNC_END(name) ".size " name ", .-" name "\n"

/* ---- the swap: x86-64 SysV ---------------------------------------------------------------- */

#if defined(CE_SWAP_ASM) && defined(__x86_64__)

/* ce__swap(void **from_sp, void *to_sp): rdi, rsi. The frame it leaves on a parked stack, from
 * the saved sp up: MXCSR (4 bytes) and the x87 control word (2) in one 8-byte slot, r15, r14,
 * r13, r12, rbx, rbp, the return address. 6 pushes and the slot keep sp 16-byte aligned. */
__asm__(
    ".text\n"
    ASM_FUNC_BEGIN("chanemu_ce__swap")
    "    pushq %rbp\n"
    "    pushq %rbx\n"
    "    pushq %r12\n"
    "    pushq %r13\n"
    "    pushq %r14\n"
    "    pushq %r15\n"
    "    subq $8, %rsp\n"
    "    stmxcsr (%rsp)\n"
    "    fnstcw 4(%rsp)\n"
    "    movq %rsp, (%rdi)\n"
    "    movq %rsi, %rsp\n"
    "    ldmxcsr (%rsp)\n"
    "    fldcw 4(%rsp)\n"
    "    addq $8, %rsp\n"
    "    popq %r15\n"
    "    popq %r14\n"
    "    popq %r13\n"
    "    popq %r12\n"
    "    popq %rbx\n"
    "    popq %rbp\n"
    "    ret\n"
    ASM_FUNC_END("chanemu_ce__swap")
    "\n"
    /* A fresh stack's first swap returns here with r12 = entry, r13 = arg and sp 16-byte
     * aligned. The return address is marked undefined so unwinders stop here. */
    ASM_FUNC_BEGIN("chanemu_ce__boot")
    "    .cfi_startproc\n"
    "    .cfi_undefined rip\n"
    "    movq %r12, %rdi\n"
    "    movq %r13, %rsi\n"
    "    call chanemu_stack_start\n"
    "    ud2\n"
    "    .cfi_endproc\n"
    ASM_FUNC_END("chanemu_ce__boot"));

/* The current MXCSR and x87 control word, for a fresh stack to start with what its creator had. */
static uint64_t fp_control(void)
{
    uint32_t mxcsr;
    uint16_t fpucw;
    __asm__ volatile("stmxcsr %0" : "=m"(mxcsr));
    __asm__ volatile("fnstcw %0" : "=m"(fpucw));
    return (uint64_t)mxcsr | (uint64_t)fpucw << 32;
}

void ce_ctx_make(ce_ctx *ctx, ce_stack *s, void (*entry)(void *), void *arg)
{
    extern void chanemu_ce__boot(void) __attribute__((visibility("hidden")));
    asan_clean(s);
    uintptr_t top = (uintptr_t)ce_stack_hi(s) & ~(uintptr_t)15;
    uint64_t *f = (uint64_t *)top - 10;
    f[0] = fp_control();
    f[1] = 0;                               /* r15 */
    f[2] = 0;                               /* r14 */
    f[3] = (uint64_t)(uintptr_t)arg;        /* r13 */
    f[4] = (uint64_t)(uintptr_t)entry;      /* r12 */
    f[5] = 0;                               /* rbx */
    f[6] = 0;                               /* rbp: ends frame-pointer walks */
    f[7] = (uint64_t)(uintptr_t)chanemu_ce__boot;
    f[8] = 0;                               /* ce__boot runs with sp = &f[8], 16-aligned */
    f[9] = 0;
    ctx_bounds(ctx, s);
    ctx->sp = f;
}

/* ---- the swap: aarch64 AAPCS64 ------------------------------------------------------------ */

#elif defined(CE_SWAP_ASM) && defined(__aarch64__)

/* ce__swap(void **from_sp, void *to_sp): x0, x1. The 176-byte frame on a parked stack:
 * x19..x28 at 0..79, x29 (fp) at 80, x30 (lr: where to return) at 88, d8..d15 at 96..159,
 * FPCR at 160 (rounding mode and the like stay per context, as MXCSR does on x86-64; it is
 * written back only when it differs, since a write to FPCR can stall the pipeline). */
__asm__(
    ".text\n"
    ASM_FUNC_BEGIN("chanemu_ce__swap")
    "    sub sp, sp, #176\n"
    "    stp x19, x20, [sp, #0]\n"
    "    stp x21, x22, [sp, #16]\n"
    "    stp x23, x24, [sp, #32]\n"
    "    stp x25, x26, [sp, #48]\n"
    "    stp x27, x28, [sp, #64]\n"
    "    stp x29, x30, [sp, #80]\n"
    "    stp d8, d9, [sp, #96]\n"
    "    stp d10, d11, [sp, #112]\n"
    "    stp d12, d13, [sp, #128]\n"
    "    stp d14, d15, [sp, #144]\n"
    "    mrs x9, fpcr\n"
    "    str x9, [sp, #160]\n"
    "    mov x10, sp\n"
    "    str x10, [x0]\n"
    "    mov sp, x1\n"
    "    ldr x10, [sp, #160]\n"
    "    cmp x9, x10\n"
    "    b.eq 1f\n"
    "    msr fpcr, x10\n"
    "1:\n"
    "    ldp x19, x20, [sp, #0]\n"
    "    ldp x21, x22, [sp, #16]\n"
    "    ldp x23, x24, [sp, #32]\n"
    "    ldp x25, x26, [sp, #48]\n"
    "    ldp x27, x28, [sp, #64]\n"
    "    ldp x29, x30, [sp, #80]\n"
    "    ldp d8, d9, [sp, #96]\n"
    "    ldp d10, d11, [sp, #112]\n"
    "    ldp d12, d13, [sp, #128]\n"
    "    ldp d14, d15, [sp, #144]\n"
    "    add sp, sp, #176\n"
    "    ret\n"
    ASM_FUNC_END("chanemu_ce__swap")
    "\n"
    /* A fresh stack's first swap returns here with x19 = entry, x20 = arg, sp 16-aligned. */
    ASM_FUNC_BEGIN("chanemu_ce__boot")
    "    .cfi_startproc\n"
    "    .cfi_undefined x30\n"
    "    mov x0, x19\n"
    "    mov x1, x20\n"
    "    bl chanemu_stack_start\n"
    "    brk #1000\n"
    "    .cfi_endproc\n"
    ASM_FUNC_END("chanemu_ce__boot"));

void ce_ctx_make(ce_ctx *ctx, ce_stack *s, void (*entry)(void *), void *arg)
{
    extern void chanemu_ce__boot(void) __attribute__((visibility("hidden")));
    asan_clean(s);
    uintptr_t top = (uintptr_t)ce_stack_hi(s) & ~(uintptr_t)15;
    uint64_t *f = (uint64_t *)top - 22;     /* 176 bytes: ce__boot runs with sp = top */
    uint64_t fpcr;
    __asm__ volatile("mrs %0, fpcr" : "=r"(fpcr));
    memset(f, 0, 176);
    f[0] = (uint64_t)(uintptr_t)entry;      /* x19 */
    f[1] = (uint64_t)(uintptr_t)arg;        /* x20 */
    f[11] = (uint64_t)(uintptr_t)chanemu_ce__boot;   /* x30; x29 = 0 ends frame walks */
    f[20] = fpcr;                           /* the creator's, as on x86-64 */
    ctx_bounds(ctx, s);
    ctx->sp = f;
}

#endif

#ifdef CE_SWAP_ASM
extern void chanemu_ce__swap(void **from_sp, void *to_sp) __attribute__((visibility("hidden")));

static void machine_swap(ce_ctx *from, ce_ctx *to)
{
    chanemu_ce__swap(&from->sp, to->sp);
}

/* ---- the fallback swap: ucontext (slower: swapcontext makes a sigprocmask system call) ---- */

#else

/* makecontext passes int arguments only: each pointer travels as two 32-bit halves. */
static void uc_start(unsigned eh, unsigned el, unsigned ah, unsigned al)
{
    uintptr_t e = ((uintptr_t)eh << 16 << 16) | el, a = ((uintptr_t)ah << 16 << 16) | al;
    chanemu_stack_start((void (*)(void *))e, (void *)a);
}

void ce_ctx_make(ce_ctx *ctx, ce_stack *s, void (*entry)(void *), void *arg)
{
    asan_clean(s);
    uintptr_t top = ((uintptr_t)ce_stack_hi(s) - sizeof(ucontext_t)) & ~(uintptr_t)63;
    ucontext_t *uc = (ucontext_t *)top;
    if (getcontext(uc) != 0) {
        perror("chanemu: getcontext");
        abort();
    }
    uc->uc_stack.ss_sp = s->lo;
    uc->uc_stack.ss_size = top - (uintptr_t)s->lo;
    uc->uc_link = NULL;
    uintptr_t e = (uintptr_t)entry, a = (uintptr_t)arg;
    makecontext(uc, (void (*)(void))uc_start, 4, (unsigned)(e >> 16 >> 16), (unsigned)e,
                (unsigned)(a >> 16 >> 16), (unsigned)a);
    ctx_bounds(ctx, s);
    ctx->sp = uc;
}

/* The running context is saved in this frame, which stays alive while its stack is parked. */
static void machine_swap(ce_ctx *from, ce_ctx *to)
{
    ucontext_t here;
    from->sp = &here;
    if (swapcontext(&here, (ucontext_t *)to->sp) != 0) {
        perror("chanemu: swapcontext");
        abort();
    }
}

#endif

/* ---- the swap, as stack.h offers it ------------------------------------------------------- */

void ce_ctx_swap(ce_ctx *from, ce_ctx *to)
{
    asan_before(from, to, 0);
    machine_swap(from, to);
    asan_after(from->asan_fake_stack);
}

void ce_ctx_swap_final(ce_ctx *from, ce_ctx *to)
{
    asan_before(from, to, 1);
    machine_swap(from, to);
    /* resumed only if a caller swaps to a finished context: a bug above this layer */
    fprintf(stderr, "chanemu: a context was resumed after its final swap\n");
    abort();
}
