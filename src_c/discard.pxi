# The C trace function that lets the lifecycle layer (chanemu/_lifecycle.py) discard a goroutine
# on CPython 3.11, which has no sys.monitoring. Used by both twins.
#
# A frame whose f_trace_opcodes is set reports every instruction to the thread's C trace
# function, including the first instruction of an exception handler the frame jumps to. Raising
# there for the discarded goroutine's frames makes every finally, with-exit and except body raise
# again before it runs, so the frames unwind without running any of their code. Other frames
# (an object's __del__ running meanwhile) are left alone: only OPCODE events of frames in the
# doomed set raise.

cdef extern from "Python.h":
    ctypedef int (*Py_tracefunc)(PyObject*, PyFrameObject*, int, PyObject*) except -1
    void PyEval_SetTrace(Py_tracefunc, PyObject*)
    int PyTrace_OPCODE
    ctypedef struct PyThreadState:
        pass
    PyThreadState* PyThreadState_Get()
    int PySet_Contains(object s, PyObject* key) except -1
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

from chanemu._errors import Discarded as _Discarded


cdef int discard_trace(PyObject* doomed, PyFrameObject* f, int what, PyObject* arg) except -1:
    if what == PyTrace_OPCODE and PySet_Contains(<object>doomed, <PyObject*>f) == 1:
        PyErr_SetNone(_Discarded)
        return -1
    return 0


def _discard_trace_on(set doomed):
    """Install the discarding trace function for this thread (doomed: the set of frames that
    must not run). Returns what to hand to _discard_trace_off: the trace function it replaced."""
    cdef PyThreadState* ts = PyThreadState_Get()
    cdef Py_tracefunc prev = chanemu_tracefunc(ts)
    cdef PyObject* prevobj = chanemu_traceobj(ts)
    saved = (PyCapsule_New(<void*>prev, "chanemu.tracefunc", NULL) if prev != NULL else None,
             <object>prevobj if prevobj != NULL else None)
    PyEval_SetTrace(discard_trace, <PyObject*>doomed)
    return saved


def _discard_trace_off(saved):
    """Put back the trace function (a debugger's, coverage's) that _discard_trace_on replaced."""
    cap, obj = saved
    if cap is None:
        PyEval_SetTrace(NULL, NULL)
    else:
        PyEval_SetTrace(<Py_tracefunc>PyCapsule_GetPointer(cap, "chanemu.tracefunc"),
                        <PyObject*>obj if obj is not None else NULL)
