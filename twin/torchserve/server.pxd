cimport cython
from twin.kernel.ps cimport SharedProcessor
from twin.kernel.rng cimport Draws
from twin.torchserve.workers cimport Worker

@cython.final
cdef class ServedWork:
    cdef public double cpu_seconds, gpu_seconds

@cython.final
cdef class Counters:
    cdef public object requests, status_2xx, status_4xx, status_5xx
    cdef public double latency_us, queue_latency_us

@cython.final
cdef class TorchServe:
    cdef public object env, profile, config, _deliver, queue, waiting, busy, workers, _batch_size, _queue_size, _spin
    cdef public object _batch
    cdef public SharedProcessor cpu
    cdef public Counters counters
    cdef public Draws draws
    cdef public Worker holder
    cdef public ServedWork served
    cdef public double _cpu_s, _threads, _frontend_cpu_s, _host_share, _gpu_s, _gpu_extra_s, _delay_s, _timeout_s
    cdef public double _check_timeouts_from

    @cython.locals(holder=Worker, batch=list)
    cpdef submit(self, request)
    cpdef _take_lock(self, Worker worker)
    @cython.locals(batch=list, size=Py_ssize_t, cpu=SharedProcessor)
    cpdef _dispatch(self, Worker worker)
    @cython.locals(size=Py_ssize_t, demand=double, served=ServedWork, compute=SharedProcessor)
    cpdef _cpu_done(self, Worker worker)
    @cython.locals(batch=list)
    cpdef _finish(self, Worker worker, kind=*)
    @cython.locals(counters=Counters)
    cpdef respond(self, request, kind)
