/* A stand-in for src_c/stack.c (the stack-switch branch's lowest layer), built only while that
 * file does not exist (setup.py picks one). It implements stack.h the slow, simple way: one
 * mapping per stack and ucontext's swapcontext for the swap (a signal-mask system
 * call per switch). Good enough to build and test the layer above; never for figures. */
#define _GNU_SOURCE
#include "stack.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <ucontext.h>

struct ce_stack {
    char *lo;
    size_t size;
    ucontext_t uc;           /* the context of the goroutine running on this stack */
    struct ce_stack *next;   /* free list */
};

static size_t stack_size = 0;
static int stacks_made = 0;
static struct ce_stack *free_list = NULL;
static ce_stack_stats stats;
static pthread_mutex_t pool_lock = PTHREAD_MUTEX_INITIALIZER;

size_t ce_stack_size(void) {
    if (stack_size == 0) {
        const char *env = getenv("CHANEMU_STACK_SIZE");
        size_t n = env ? strtoull(env, NULL, 0) : 0;
        stack_size = n >= 65536 ? n : (size_t)8 << 20;
    }
    return stack_size;
}

int ce_stack_set_size(size_t size) {
    if (stacks_made) {
        errno = EBUSY;
        return -1;
    }
    stack_size = size;
    return 0;
}

ce_stack *ce_stack_get(void) {
    ce_stack *s;
    pthread_mutex_lock(&pool_lock);
    s = free_list;
    if (s != NULL) {
        free_list = s->next;
        stats.free--;
    }
    stats.in_use++;
    stacks_made = 1;
    pthread_mutex_unlock(&pool_lock);
    if (s != NULL)
        return s;
    s = calloc(1, sizeof(*s));
    if (s == NULL)
        goto fail;
    s->size = ce_stack_size();
    s->lo = mmap(NULL, s->size, PROT_READ | PROT_WRITE,
                 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (s->lo == MAP_FAILED) {
        free(s);
        goto fail;
    }
    pthread_mutex_lock(&pool_lock);
    stats.mapped_bytes += s->size;
    pthread_mutex_unlock(&pool_lock);
    return s;
fail:
    pthread_mutex_lock(&pool_lock);
    stats.in_use--;
    pthread_mutex_unlock(&pool_lock);
    errno = ENOMEM;
    return NULL;
}

void ce_stack_put(ce_stack *s) {
    pthread_mutex_lock(&pool_lock);
    s->next = free_list;
    free_list = s;
    stats.in_use--;
    stats.free++;
    pthread_mutex_unlock(&pool_lock);
}

char *ce_stack_lo(const ce_stack *s) { return s->lo; }
char *ce_stack_hi(const ce_stack *s) { return s->lo + s->size; }

/* makecontext passes ints: the entry and its argument travel through this per-thread slot. */
static __thread void (*pending_entry)(void *);
static __thread void *pending_arg;

static void trampoline(void) {
    void (*entry)(void *) = pending_entry;
    void *arg = pending_arg;
    entry(arg);
    abort();   /* entry never returns */
}

void ce_ctx_make(ce_ctx *ctx, ce_stack *s, void (*entry)(void *arg), void *arg) {
    getcontext(&s->uc);
    s->uc.uc_stack.ss_sp = s->lo;
    s->uc.uc_stack.ss_size = s->size;
    s->uc.uc_link = NULL;
    makecontext(&s->uc, trampoline, 0);
    ctx->sp = &s->uc;
    ctx->lo = s->lo;
    ctx->size = s->size;
    ctx->asan_fake_stack = NULL;
    ctx->valgrind_id = 0;
    /* The entry and its argument wait at the stack's low end (far from where it is used) for the
     * first swap, so that several made-but-not-started contexts can coexist. */
    ((void **)s->lo)[0] = (void *)entry;
    ((void **)s->lo)[1] = arg;
}

static void swap(ce_ctx *from, ce_ctx *to) {
    ucontext_t *mine = from->sp;
    if (mine == NULL) {
        /* a thread's own stack: its ucontext lives on the heap for the thread's life */
        mine = from->sp = calloc(1, sizeof(ucontext_t));
        if (mine == NULL)
            abort();
    }
    if (to->lo != NULL) {
        void **slot = (void **)to->lo;
        if (slot[0] != NULL) {
            pending_entry = (void (*)(void *))slot[0];
            pending_arg = slot[1];
            slot[0] = slot[1] = NULL;     /* started: the next swap resumes it */
        }
    }
    swapcontext(mine, to->sp);
}

void ce_ctx_swap(ce_ctx *from, ce_ctx *to) { swap(from, to); }
void ce_ctx_swap_final(ce_ctx *from, ce_ctx *to) { swap(from, to); }

void ce_stack_get_stats(ce_stack_stats *out) {
    pthread_mutex_lock(&pool_lock);
    *out = stats;
    pthread_mutex_unlock(&pool_lock);
}
