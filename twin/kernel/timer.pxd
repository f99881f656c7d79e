cimport cython

@cython.final
cdef class Call:
    cdef public object callbacks, _ok, value
