cimport cython

@cython.final
cdef class Draws:
    cdef public object next

@cython.final
cdef class Uniforms:
    cdef public object next
