/* The interpreter state a stackful goroutine switch moves (CHANEMU_SWITCH=stack), per CPython
 * version. Included by src_c/switch.pxi, which swaps the C stacks (src_c/stack.h).
 *
 * Each goroutine runs on its own C stack, so everything of the thread state that points into a C
 * stack, or describes the Python frames running on it, belongs to the goroutine and is saved when
 * it is switched out and put back when it is switched in:
 *   - the frame chain: 3.11/3.12 tstate->cframe (a struct on the C stack of the innermost
 *     evaluation loop, holding current_frame); 3.13 tstate->current_frame;
 *   - the data stack the frames live in (datastack_chunk/top/limit): each goroutine has its own
 *     chunk list, kept with its C stack while the stack is reused, freed with it;
 *   - the recursion depth (Python's; 3.12+ also the C one), kept as a depth so that a
 *     sys.setrecursionlimit meanwhile applies to parked goroutines too;
 *   - the exception being handled (exc_info) with a root entry of the goroutine's own;
 *   - the contextvars context (context_ver is bumped when it changes, so that cached
 *     ContextVar lookups are not reused across goroutines);
 *   - the tracing depth (inside a trace function).
 * What greenlet also does and a switch between two goroutines of one runtime does not need is
 * left out: no stack copying, no frame object per switch, no walk of the frame chain, no
 * per-goroutine trace function (it stays the thread's; 3.11's per-cframe use_tracing flag is
 * refreshed from it on switch-in).
 *
 * Only public structs are used (cpython/pystate.h): no private header, no private symbol.
 */
#ifndef CHANEMU_STACKSWITCH_H
#define CHANEMU_STACKSWITCH_H

#include <Python.h>
#include <frameobject.h>

#if PY_VERSION_HEX < 0x030B0000 || PY_VERSION_HEX >= 0x030E0000
#  define CE_PYSTATE_SUPPORTED 0
#else
#  define CE_PYSTATE_SUPPORTED 1
#endif

#if PY_VERSION_HEX >= 0x030D0000
#  define CE_HAS_CFRAME 0
#else
#  define CE_HAS_CFRAME 1
#endif

typedef struct ce_pystate {
#if CE_PYSTATE_SUPPORTED
#  if CE_HAS_CFRAME
    _PyCFrame *cframe;              /* tstate->cframe while switched out */
    _PyCFrame root_cframe;          /* a new goroutine's bottom cframe: no frame below it */
#  else
    struct _PyInterpreterFrame *current_frame;
#  endif
    _PyErr_StackItem *exc_info;     /* the exception being handled, while switched out */
    _PyErr_StackItem exc_state;     /* the goroutine's own root of the exc_info chain */
    _PyStackChunk *datastack_chunk;
    PyObject **datastack_top;
    PyObject **datastack_limit;
#endif
    PyObject *context;              /* owned while switched out */
    int py_depth;                   /* recursion depth (limit - remaining) */
    int py_cut;                     /* 3.11: how far below the limit the goroutine's budget was
                                       set on switch-in (see ce_pystate_load) */
    int c_depth;                    /* 3.12+: C recursion used (start budget - remaining) */
    int tracing;
} ce_pystate;

/* Bytes of C stack one C-recursive level may take: a Python function called from C (an
 * evaluation loop entered again), with the C function between (list.sort's merge state is
 * the largest common one, about 2.5 KB). tests/test_switch_stack.py recurses through the worst. */
#define CE_BYTES_PER_LEVEL 4096

/* 3.12+: the C recursion budget a goroutine starts with, set once from the stack size.
 * 3.11 counts C and Python recursion together: the most levels a goroutine's stack holds. */
#if PY_VERSION_HEX >= 0x030C0000
static int ce_c_budget = 0;
#endif
static int ce_level_cap = 0x7fffffff;

static inline int ce_pystate_supported(void) { return CE_PYSTATE_SUPPORTED; }

/* A new goroutine's state: no frame, an empty data stack (CPython allocates the first chunk on
 * the first call), depth 0, no exception, no context (a fresh one on first use). */
static void ce_pystate_init(ce_pystate *s) {
    memset(s, 0, sizeof(*s));
#if CE_PYSTATE_SUPPORTED
#  if CE_HAS_CFRAME
    s->cframe = &s->root_cframe;
#  endif
    s->exc_info = &s->exc_state;
#endif
}

#if CE_PYSTATE_SUPPORTED
static inline int ce_py_remaining(PyThreadState *ts) {
#  if PY_VERSION_HEX >= 0x030C0000
    return ts->py_recursion_remaining;
#  else
    return ts->recursion_remaining;
#  endif
}
static inline int ce_py_limit(PyThreadState *ts) {
#  if PY_VERSION_HEX >= 0x030C0000
    return ts->py_recursion_limit;
#  else
    return ts->recursion_limit;
#  endif
}
#endif

/* Switch-out: the running goroutine's state into s. */
static inline void ce_pystate_save(ce_pystate *s, PyThreadState *ts) {
#if CE_PYSTATE_SUPPORTED
#  if CE_HAS_CFRAME
    s->cframe = ts->cframe;
#  else
    s->current_frame = ts->current_frame;
#  endif
    s->exc_info = ts->exc_info;
    s->datastack_chunk = ts->datastack_chunk;
    s->datastack_top = ts->datastack_top;
    s->datastack_limit = ts->datastack_limit;
    s->py_depth = ce_py_limit(ts) - ce_py_remaining(ts) - s->py_cut;
#  if PY_VERSION_HEX >= 0x030C0000
    s->c_depth = ce_c_budget - ts->c_recursion_remaining;
#  endif
    s->tracing = ts->tracing;
    s->context = ts->context;       /* the reference moves into s */
    ts->context = NULL;
#endif
}

/* Switch-in: s becomes the thread's state. own_stack: s is a goroutine's own C stack (not the
 * thread's), whose size bounds its recursion. */
static inline void ce_pystate_load(ce_pystate *s, PyThreadState *ts, int own_stack) {
#if CE_PYSTATE_SUPPORTED
#  if CE_HAS_CFRAME
    ts->cframe = s->cframe;
#    if PY_VERSION_HEX < 0x030C0000
    /* The trace function is the thread's: it may have been set or removed meanwhile. */
    s->cframe->use_tracing = (s->tracing == 0 &&
                              (ts->c_tracefunc != NULL || ts->c_profilefunc != NULL)) ? 255 : 0;
#    endif
    /* While it runs, its frames are the thread's: s keeps no stale pointer into its C stack
     * (ce_pystate_frame, from another thread, then finds no frame rather than a dead cframe). */
    s->cframe = NULL;
#  else
    ts->current_frame = s->current_frame;
    s->current_frame = NULL;
#  endif
    ts->exc_info = s->exc_info;
    ts->datastack_chunk = s->datastack_chunk;
    ts->datastack_top = s->datastack_top;
    ts->datastack_limit = s->datastack_limit;
    /* the chunks are the thread's while it runs: s does not own them (ce_pystate_free_datastack) */
    s->datastack_chunk = NULL;
    s->datastack_top = s->datastack_limit = NULL;
#  if PY_VERSION_HEX >= 0x030C0000
    ts->py_recursion_remaining = ts->py_recursion_limit - s->py_depth;
    ts->c_recursion_remaining = ce_c_budget - s->c_depth;
#  else
    /* 3.11 has no C recursion counter: a recursion limit set above what the stack holds is
     * cut to it, so that a deep C recursion ends in RecursionError, not in a fault. The cut is
     * kept, so that save finds the depth again (and sys.setrecursionlimit meanwhile, which
     * keeps limit - remaining, keeps the depth right). */
    s->py_cut = (own_stack && ts->recursion_limit > ce_level_cap)
                ? ts->recursion_limit - ce_level_cap : 0;
    ts->recursion_remaining = ts->recursion_limit - s->py_cut - s->py_depth;
#  endif
    ts->tracing = s->tracing;
    if (ts->context != s->context) {
        /* (ts->context is NULL: save moved it out) */
        ts->context_ver++;
    }
    ts->context = s->context;
    s->context = NULL;
#endif
}

/* The thread's own stack (the root) gives its C recursion budget to every goroutine: the
 * smaller of what the thread started with and what stack_size bytes can hold. */
static void ce_pystate_set_budget(PyThreadState *ts, size_t stack_size) {
    size_t fit = stack_size / CE_BYTES_PER_LEVEL;
    ce_level_cap = fit < 0x7fffffff ? (int)fit : 0x7fffffff;
#if PY_VERSION_HEX >= 0x030C0000
    if (ce_c_budget == 0) {
        int start = ts->c_recursion_remaining;
        ce_c_budget = start < ce_level_cap ? start : ce_level_cap;
    }
#else
    (void)ts;
#endif
}

/* The innermost complete frame of a switched-out goroutine as a frame object (a new reference),
 * or NULL (no frame, or an error set). The goroutine's frame chain is put in the thread state
 * for the moment PyThreadState_GetFrame needs: no Python code runs meanwhile (the collector is
 * paused, so no finalizer runs with the borrowed chain). */
static PyObject *ce_pystate_frame(ce_pystate *s, PyThreadState *ts) {
#if CE_PYSTATE_SUPPORTED
    PyFrameObject *f;
    int gc_was = PyGC_Disable();
#  if CE_HAS_CFRAME
    _PyCFrame *mine = ts->cframe;
    if (s->cframe == NULL || s->cframe->current_frame == NULL) {   /* running, or no frame */
        if (gc_was) PyGC_Enable();
        return NULL;
    }
    ts->cframe = s->cframe;
    f = PyThreadState_GetFrame(ts);
    ts->cframe = mine;
#  else
    struct _PyInterpreterFrame *mine = ts->current_frame;
    if (s->current_frame == NULL) {
        if (gc_was) PyGC_Enable();
        return NULL;
    }
    ts->current_frame = s->current_frame;
    f = PyThreadState_GetFrame(ts);
    ts->current_frame = mine;
#  endif
    if (gc_was)
        PyGC_Enable();
    return (PyObject *)f;
#else
    (void)s; (void)ts;
    return NULL;
#endif
}

/* A finished goroutine's stack is given back: free its data-stack chunks. Nothing may point
 * into them any more (its frames have all returned or been cleared). */
static void ce_pystate_free_datastack(ce_pystate *s) {
#if CE_PYSTATE_SUPPORTED
    PyObjectArenaAllocator alloc;
    _PyStackChunk *c = s->datastack_chunk;
    PyObject_GetArenaAllocator(&alloc);
    while (c != NULL) {
        _PyStackChunk *prev = c->previous;
        alloc.free(alloc.ctx, c, c->size);
        c = prev;
    }
    s->datastack_chunk = NULL;
    s->datastack_top = s->datastack_limit = NULL;
#endif
    Py_CLEAR(s->context);
}

/* A goroutine written off without being resumed (from another thread): forget its frame chain,
 * which begins on its C stack (3.11/3.12: the cframe lives there), and its data-stack chunks,
 * which stay allocated: its frames and what they hold are never freed, since a frame object
 * made while it was parked may point into them. The context reference is kept (freed with
 * the fiber). */
static void ce_pystate_forget(ce_pystate *s) {
#if CE_PYSTATE_SUPPORTED
#  if CE_HAS_CFRAME
    s->cframe = NULL;
#  else
    s->current_frame = NULL;
#  endif
    s->exc_info = &s->exc_state;
    s->datastack_chunk = NULL;
    s->datastack_top = s->datastack_limit = NULL;
#else
    (void)s;
#endif
}

#endif /* CHANEMU_STACKSWITCH_H */
