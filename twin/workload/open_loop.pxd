cimport cython
from twin.kernel.timer cimport Call
from twin.workload.service cimport Service

@cython.final
cdef class OpenLoop:
    cdef public object env, send, delay_s, stop_s, _next_time, _fire
    cdef public Service service

    cpdef _schedule(self, after, Call event)
    cpdef _arrive(self, Call event)
