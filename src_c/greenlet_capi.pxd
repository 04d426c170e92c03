# greenlet's C API (greenlet.h), so that a goroutine switch is a C call, not a Python one.
# Each macro's Python equivalent and reference ownership are in greenlet.h beside its definition.
from cpython.ref cimport PyObject

cdef extern from "greenlet.h":
    ctypedef struct PyGreenlet:
        pass

    # g.switch(*args, **kwargs): a new reference, or NULL with an exception set (declared as
    # object so that Cython checks the NULL and propagates the exception)
    object PyGreenlet_Switch(PyGreenlet* g, PyObject* args, PyObject* kwargs)
    # greenlet.getcurrent(): a new reference
    PyGreenlet* PyGreenlet_GetCurrent()
    # g.throw(typ, val, tb): a new reference, or NULL with an exception set
    object PyGreenlet_Throw(PyGreenlet* g, PyObject* typ, PyObject* val, PyObject* tb)
    int PyGreenlet_STARTED(PyGreenlet* g)
    void PyGreenlet_Import()
