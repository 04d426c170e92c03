# The C trace function that lets the lifecycle layer (chanemu/_lifecycle.py) discard a goroutine
# on CPython 3.11, which has no sys.monitoring. Used by both twins.
#
# A frame whose f_trace_opcodes is set reports every instruction to the thread's C trace
# function, including the first instruction of an exception handler the frame jumps to. Raising
# there for the discarded goroutine's frames makes every finally, with-exit and except body raise
# again before it runs, so the frames unwind without running any of their code. Other frames
# (an object's __del__ running meanwhile) are left alone: only OPCODE events of frames in the
# doomed dict (frame -> exception class) raise. A CALL event asks the lifecycle layer whether the
# frame is a generator being closed by a doomed frame (then it is doomed too).

cdef extern from "Python.h":
    ctypedef int (*Py_tracefunc)(PyObject*, PyFrameObject*, int, PyObject*) except -1
    void PyEval_SetTrace(Py_tracefunc, PyObject*)
    int PyTrace_OPCODE
    ctypedef struct PyThreadState:
        pass
    PyThreadState* PyThreadState_Get()
    PyObject* PyDict_GetItemWithError(object d, object key) except? NULL
    int PyTrace_CALL
    void PyErr_SetNone(object)
    object PyCapsule_New(void* p, const char* name, void* destructor)
    void* PyCapsule_GetPointer(object capsule, const char* name) except? NULL

cdef extern from *:
    """
    #if PY_VERSION_HEX < 0x030C0000
    static Py_tracefunc chanemu_tracefunc(PyThreadState *ts) { return ts->c_tracefunc; }
    static PyObject *chanemu_traceobj(PyThreadState *ts) { return ts->c_traceobj; }
    #else
    static Py_tracefunc chanemu_tracefunc(PyThreadState *ts) { (void)ts; return NULL; }
    static PyObject *chanemu_traceobj(PyThreadState *ts) { (void)ts; return NULL; }
    #endif
    """
    Py_tracefunc chanemu_tracefunc(PyThreadState* ts)
    PyObject* chanemu_traceobj(PyThreadState* ts)



cdef int discard_trace(PyObject* state, PyFrameObject* f, int what, PyObject* arg) except -1:
    cdef PyObject* exc
    if what == PyTrace_OPCODE:
        exc = PyDict_GetItemWithError((<tuple>state)[0], <object><PyObject*>f)
        if exc != NULL:
            PyErr_SetNone(<object>exc)
            return -1
    elif what == PyTrace_CALL:
        if (<tuple>state)[1](<object><PyObject*>f, (<tuple>state)[0]):
            (<object><PyObject*>f).f_trace_opcodes = True
    return 0


def _discard_trace_on(dict doomed, closing):
    """Install the discarding trace function for this thread. doomed: frame -> the exception its
    next instruction raises; closing(frame, doomed): whether a frame entered meanwhile is a
    generator being closed by a doomed frame (it then adds it to doomed). Returns what to hand
    to _discard_trace_off: the trace function it replaced."""
    cdef PyThreadState* ts = PyThreadState_Get()
    cdef Py_tracefunc prev = chanemu_tracefunc(ts)
    cdef PyObject* prevobj = chanemu_traceobj(ts)
    saved = (PyCapsule_New(<void*>prev, "chanemu.tracefunc", NULL) if prev != NULL else None,
             <object>prevobj if prevobj != NULL else None)
    state = (doomed, closing)
    PyEval_SetTrace(discard_trace, <PyObject*>state)
    return saved


def _discard_trace_off(saved):
    """Put back the trace function (a debugger's, coverage's) that _discard_trace_on replaced."""
    cap, obj = saved
    if cap is None:
        PyEval_SetTrace(NULL, NULL)
    else:
        PyEval_SetTrace(<Py_tracefunc>PyCapsule_GetPointer(cap, "chanemu.tracefunc"),
                        <PyObject*>obj if obj is not None else NULL)
