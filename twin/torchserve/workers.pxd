cimport cython

@cython.final
cdef class Worker:
    cdef public object index, accelerator, state, served, gpu_mib, backoff, recovery_start, generation
    cdef public object batch, job, batch_started, scaled_down, loading
