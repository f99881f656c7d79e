cimport cython

@cython.final
cdef class QuantileSketch:
    cdef public list counts
    cdef public Py_ssize_t count
    cdef public double total, low, high

    @cython.locals(index=Py_ssize_t)
    cpdef add(self, double value)
