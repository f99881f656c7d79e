cimport cython
from twin.kernel.sketch cimport QuantileSketch

@cython.final
cdef class Recorder:
    cdef public object warmup_s, requests, errors, second_errors, records, arrived, answered_ok, answered_failed
    cdef public QuantileSketch _finished, second, early

    cpdef response(self, arrival, latency, kind, pod)
