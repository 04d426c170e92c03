/* Goroutine C stacks and the context swap of the stack switch backend (CHANEMU_SWITCH=stack).
 *
 * This layer knows nothing of Python: it hands out C stacks and swaps the machine context
 * between them. src_c/stackswitch.* builds the goroutine switch (interpreter state saved and
 * restored per CPython version) on top of it.
 *
 * Stacks are carved from large MAP_NORESERVE slabs: no mapping and no guard page per stack
 * (each mapping, and each protection change inside one, costs a kernel map entry, and
 * vm.max_map_count bounds how many goroutines could exist). A finished stack goes on a free list;
 * the pages of idle stacks beyond a small reserve are given back to the kernel. Overflow is
 * caught above this layer, by a per-goroutine C-stack budget checked against ce_stack_lo().
 */
#ifndef CHANEMU_STACK_H
#define CHANEMU_STACK_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The functions below are internal to whatever links stack.c in (chanemu._core, the C unit
 * test): never exported from a shared object, where another library loaded with RTLD_GLOBAL
 * could take their names, and the extension could be bound to its versions. */
#if defined(__GNUC__) || defined(__clang__)
#define CE_INTERNAL __attribute__((visibility("hidden")))
#else
#define CE_INTERNAL
#endif

/* One goroutine's C stack: [lo, lo + size), growing down from lo + size. */
typedef struct ce_stack ce_stack;

/* A saved machine context: what ce_ctx_swap needs to resume a stack where it left off.
 * `sp` is the saved stack pointer (callee-saved registers live on that stack). The bounds tell
 * AddressSanitizer and valgrind which stack is being entered. A thread's own stack (the one it
 * started on) has lo == NULL until its first swap away records what ASan reports. */
typedef struct ce_ctx {
    void *sp;
    void *lo;
    size_t size;
    void *asan_fake_stack;      /* ASan's per-fiber fake-stack handle; unused otherwise */
    unsigned valgrind_id;       /* VALGRIND_STACK_REGISTER's id; 0 when not registered */
} ce_ctx;

/* Sizes in bytes. ce_stack_size() is the usable size of every stack (fixed per process, set
 * before the first ce_stack_get: CHANEMU_STACK_SIZE, else a default large enough that
 * CPython's own recursion limits end a deep recursion first). */
CE_INTERNAL size_t ce_stack_size(void);
CE_INTERNAL int ce_stack_set_size(size_t size);    /* 0, or -1 with errno=EBUSY once a stack exists */

/* A stack for a new goroutine: from the free list, else carved from a slab (a new slab mapped
 * when the current one is used up). NULL with errno set (ENOMEM) when memory runs out; never
 * aborts. Thread-safe (each runtime lives on one thread, but runtimes on several threads share
 * the pool). */
CE_INTERNAL ce_stack *ce_stack_get(void);

/* Back to the free list. Its pages may be released (MADV_DONTNEED) at once or later; the
 * memory stays mapped for reuse. The stack must not be running. */
CE_INTERNAL void ce_stack_put(ce_stack *s);

CE_INTERNAL char *ce_stack_lo(const ce_stack *s);
CE_INTERNAL char *ce_stack_hi(const ce_stack *s);

/* Prepare ctx so that the first ce_ctx_swap to it calls entry(arg) on stack s. entry must
 * never return: it ends by swapping away for good (the stack is then put back by whoever
 * resumes). */
CE_INTERNAL void ce_ctx_make(ce_ctx *ctx, ce_stack *s, void (*entry)(void *arg), void *arg);

/* Save the running context into `from` and resume `to`. Returns when something swaps back to
 * `from`. Announces the switch to ASan (__sanitizer_start/finish_switch_fiber) and valgrind
 * when built with them. `from` may be a thread's own stack (zero-initialised ctx). */
CE_INTERNAL void ce_ctx_swap(ce_ctx *from, ce_ctx *to);

/* The last ce_ctx_swap away from a stack that will never run again (its goroutine is done or
 * discarded): ASan is told the fake stack can go. */
CE_INTERNAL void ce_ctx_swap_final(ce_ctx *from, ce_ctx *to);

/* Pool figures, for benchmarks and tests: bytes mapped in slabs, stacks handed out now,
 * stacks on the free list, bytes given back with MADV_DONTNEED so far. */
typedef struct ce_stack_stats {
    size_t mapped_bytes;
    size_t in_use;
    size_t free;
    size_t released_bytes;
} ce_stack_stats;
CE_INTERNAL void ce_stack_get_stats(ce_stack_stats *out);

#ifdef __cplusplus
}
#endif

#endif /* CHANEMU_STACK_H */
