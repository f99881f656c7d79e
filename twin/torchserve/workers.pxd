cimport cython

@cython.final
cdef class Worker:
    cdef public object index, accelerator, state, served, gpu_mib, backoff, recovery_start
    cdef public object batch, job, scaled_down, loading
    cdef public Py_ssize_t generation
    cdef public double batch_started
