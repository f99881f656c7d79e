cimport cython
from twin.kernel.rng cimport Uniforms

@cython.final
cdef class Service:
    cdef public list _endpoints
    cdef public Uniforms _uniforms

    @cython.locals(endpoints=list)
    cpdef connect(self)
