cimport cython
from twin.kernel.timer cimport Call

@cython.final
cdef class SharedProcessor:
    cdef public object _env, _speed_of, _capacity_used, _fire, _seq
    cdef public Call _slot
    cdef public list _speeds, _used, _heap
    cdef public double _virtual, _last, _speed, work_area, jobs_area

    @cython.locals(now=double, dt=double, n=Py_ssize_t, speed=double, heap=list)
    cpdef start(self, double demand, done, payload)
    cdef _speed_for(self, Py_ssize_t n)
    @cython.locals(now=double, dt=double, n=Py_ssize_t)
    cdef _advance(self)
    @cython.locals(slot=Call, heap=list, wait=double)
    cdef _arm(self)
    @cython.locals(heap=list, now=double, dt=double, n=Py_ssize_t, virtual=double, tolerance=double, limit=double,
                   head=double, speed=double, wait=double)
    cpdef _on_timer(self, Call event)
    cdef _finish_all(self, double limit, done, payload)
