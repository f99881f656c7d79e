cdef class Request:
    cdef public object arrival, source, pod
