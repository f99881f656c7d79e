"""One TorchServe instance serving one model: job queue, batch aggregation, inference on CPU and accelerator.

Fidelity ledger — upstream: pytorch/serve 0.12 `ModelManager.addJob`, `Model.pollInferJob` (the model lock),
`WorkerThread.run`/`shutdown`, docs/batch_inference_with_ts.md, docs/configuration.md.
Modelled: `addJob` answers 503 when the model has no worker thread at all (starting and restarting workers count,
as `hasNoWorker` does) or when the job queue (`job_queue_size`) is full; all workers compete for one FIFO queue; a
worker polls under the model's lock, so one worker at a time aggregates a batch: it blocks for its first job, then
takes up to batchSize − 1 more until maxBatchDelay after the first has passed — under light load a batched request
waits the whole delay; a batch costs CPU time on the node (processor sharing over vCPUs, twin/k8s/node.py), as its
requests in a row or as one forward pass (twin/torchserve/batching.py), then accelerator time (kernels and host
launch/sync, twin/gpu/sharing.py); the pod's CPU use counts the worker's pool, its launch/sync thread and the JVM's
`frontend_cpu_ms` per request; a batch not answered within responseTimeout kills the worker (500 "Worker died",
then restart with back-off); a worker scaled down with a batch in flight answers 500 "Worker scaled down"; a first
inference that does not fit in GPU memory answers 507. Not modelled: client-timeout drops, describe jobs,
continuous/sequence batching, the JVM's own CPU beyond the profile's frontend time.
"""
from __future__ import annotations

from collections import deque
from typing import TYPE_CHECKING, Callable

import simpy

from twin.config.schema import ModelConfig, ModelProfile
from twin.gpu.device import Accelerator
from twin.kernel import request as outcome
from twin.kernel.ps import SharedProcessor
from twin.kernel.request import Request
from twin.kernel.rng import Draws
from twin.kernel.timer import call_later
from twin.torchserve.batching import BatchCost, one_pass
from twin.torchserve.workers import READY, Worker, Workers

if TYPE_CHECKING:  # the node's, handed down by the pod: TorchServe knows nothing of the layers above it
    from twin.k8s.idle_spin import IdleSpin


class ServedWork:
    """Work a pod's TorchServe has served, across container restarts."""

    __slots__ = ("cpu_seconds", "gpu_seconds")

    def __init__(self) -> None:
        self.cpu_seconds = 0.0  # core-seconds of request CPU demand
        self.gpu_seconds = 0.0  # accelerator-seconds


class Counters:
    """TorchServe 0.12's Prometheus counters of one model (reset when the container restarts, as for real):
    ts_inference_requests_total (503 rejections included), ts_inference_latency_microseconds (accept → response),
    ts_queue_latency_microseconds (accept → hand-off to a worker, batch delay included), Requests2XX/4XX/5XX."""

    __slots__ = ("requests", "latency_us", "queue_latency_us", "status_2xx", "status_4xx", "status_5xx")

    def __init__(self) -> None:
        self.requests = 0
        self.latency_us = 0.0
        self.queue_latency_us = 0.0
        self.status_2xx = 0
        self.status_4xx = 0
        self.status_5xx = 0


class TorchServe:
    """The frontend and workers of one pod."""

    def __init__(self, env: simpy.Environment, *, profile: ModelProfile, config: ModelConfig, cpu: SharedProcessor,
                 cpu_threads: float, accelerators: list[Accelerator], respond: Callable[[Request, str], None],
                 rss_changed: Callable[[float], None], log: Callable[..., None], draws: Draws,
                 served: ServedWork, loading: Callable[[int], None] | None = None,
                 spin: IdleSpin | None = None, barrier_share: Callable[[int], float] = lambda jobs: 0.0) -> None:
        self.env = env
        self.profile = profile
        self.config = config
        self.cpu = cpu
        self._deliver = respond
        self.counters = Counters()
        self.draws = draws
        self.queue: deque[Request] = deque()
        self.holder: Worker | None = None  # the worker polling under the model lock
        self.waiting: deque[Worker] = deque()  # idle workers blocked on the model lock
        self.busy = 0
        self.served = served
        self.workers = Workers(env, profile=profile, config=config, accelerators=accelerators,
                               rss_changed=rss_changed, log=log, became_ready=self._idle, lost=self._lost,
                               loading=loading)
        self._cpu_s = profile.cpu_ms / 1000.0
        self._batch = BatchCost(profile, barrier_share) if one_pass(profile) else None  # None: items in a row
        self._threads = cpu_threads
        self._frontend_cpu_s = profile.frontend_cpu_ms / 1000.0
        self._host_share = 1.0 - profile.gpu_busy_fraction
        self._gpu_s = profile.gpu_ms / 1000.0
        self._gpu_extra_s = profile.gpu_ms_per_extra_item / 1000.0
        self._delay_s = config.max_batch_delay_ms / 1000.0
        self._batch_size = config.batch_size
        self._timeout_s = config.response_timeout_s
        self._queue_size = config.job_queue_size
        self._check_timeouts_from = float("inf")
        self._spin = spin if spin is not None and spin.spinners else None  # pools that spin between CPU phases

    def start(self, *, preloaded: bool = False) -> None:
        """The frontend is up: start the configured workers."""
        self.workers.scale(self.workers.min_workers, self.workers.max_workers, preloaded=preloaded)

    # --- inference path -------------------------------------------------------------------------------------
    def submit(self, request: Request) -> None:
        holder = self.holder
        if holder is not None:  # the worker polling under the lock collects it into its batch
            batch = holder.batch
            batch.append(request)
            if len(batch) >= self._batch_size or self._delay_s <= 0.0:
                self._dispatch(holder)
            elif len(batch) == 1:
                call_later(self.env, self._delay_s, self._batch_deadline, (holder, holder.generation))
        elif not self.workers.all:
            self.respond(request, outcome.NO_WORKER)
        elif len(self.queue) >= self._queue_size:
            self.respond(request, outcome.QUEUE_FULL)
        else:
            self.queue.append(request)

    def _idle(self, worker: Worker) -> None:
        """A ready worker goes back to polling: it takes the model lock, or waits for it."""
        if self.holder is None:
            self._take_lock(worker)
        else:
            self.waiting.append(worker)

    def _take_lock(self, worker: Worker) -> None:
        self.holder = worker
        worker.batch = []
        queue = self.queue
        while queue and self.holder is worker:  # with the lock held, submit collects into the worker's batch
            self.submit(queue.popleft())

    def _batch_deadline(self, event: simpy.Event) -> None:
        worker, generation = event.value
        if self.holder is worker and generation == worker.generation and worker.batch:
            self._dispatch(worker)

    def _release_lock(self) -> None:
        self.holder = None
        while self.waiting and self.holder is None:
            worker = self.waiting.popleft()
            if worker.state == READY and worker.batch is None:
                self._take_lock(worker)

    def _dispatch(self, worker: Worker) -> None:
        """The batch is complete: the worker leaves the lock and runs inference."""
        worker.generation += 1  # invalidates the batch-delay timer
        now = worker.batch_started = self.env._now
        batch = worker.batch
        waited = now - batch[0].arrival if len(batch) == 1 else sum([now - request.arrival for request in batch])
        self.counters.queue_latency_us += waited * 1e6
        self.busy += 1
        self.holder = None  # _release_lock, inlined for the common case of no worker waiting for the lock
        if self.waiting:
            self._release_lock()
        size = len(batch)
        demand = self._cpu_s * size if self._batch is None else self._batch.work_s(size)
        demand *= self.draws.next()
        self.served.cpu_seconds += demand * self._threads + size * self._frontend_cpu_s
        due = now + self._timeout_s  # inf without a responseTimeout
        if due < self._check_timeouts_from:
            self._check_timeouts_from = due
        cpu = self.cpu
        if self._spin is not None:
            self._spin.busy(worker)
        if self._batch is not None and size > 1:  # its barriers once per pass, at the crowd it starts in (its own
            demand *= self._batch.stretch(size, cpu.jobs + 1)  # pool's spin over: twin/torchserve/batching.py)
        worker.job = (cpu, cpu.start(demand, self._cpu_done, worker))

    def _cpu_done(self, worker: Worker) -> None:
        if self._spin is not None:
            self._spin.idle(worker, self.served)
        accelerator = worker.accelerator
        if accelerator is None or self._gpu_s <= 0.0:
            self._finish(worker)
            return
        if not worker.served and not self.workers.grow_for_first_inference(worker):
            self._finish(worker, outcome.GPU_OOM)
            return
        size = len(worker.batch)
        demand = (self._gpu_s + self._gpu_extra_s * (size - 1)) * self.draws.next()
        served = self.served
        served.gpu_seconds += demand
        served.cpu_seconds += demand * self._host_share  # the thread that launches and waits
        compute = accelerator.compute
        worker.job = (compute, compute.start(demand, self._finish, worker))

    def _finish(self, worker: Worker, kind: str = outcome.OK) -> None:
        """The batch is answered (the GPU phase's completion calls this directly); the worker polls again."""
        batch, worker.batch, worker.job = worker.batch, None, None
        self.busy -= 1
        respond = self.respond
        for request in batch:
            respond(request, kind)
        self._idle(worker)

    def respond(self, request: Request, kind: str) -> None:
        """Count the response as TorchServe's metrics do, then hand it back to the client."""
        counters = self.counters
        counters.requests += 1
        counters.latency_us += (self.env._now - request.arrival) * 1e6
        if kind == outcome.OK:
            counters.status_2xx += 1
        else:
            counters.status_5xx += 1
        self._deliver(request, kind)

    # --- failures ---------------------------------------------------------------------------------------------
    def check_timeouts(self) -> None:
        """Kill workers whose batch has run past responseTimeout (called at least once a second)."""
        now = self.env.now
        if now < self._check_timeouts_from:
            return
        self._check_timeouts_from = float("inf")
        limit = self.config.response_timeout_s
        for worker in list(self.workers.all):
            if worker.job is None:
                continue
            due = worker.batch_started + limit
            if due <= now:
                self.workers.kill(worker, reason="response_timeout")
            else:
                self._check_timeouts_from = min(self._check_timeouts_from, due)

    def _lost(self, worker: Worker, reason: str) -> None:
        """A worker's process ended: answer what it held, and take it out of the lock's way."""
        if worker.job is not None:
            processor, handle = worker.job
            processor.remove(handle)
            worker.job = None
            self.busy -= 1
        batch, worker.batch = worker.batch, None
        if self.holder is worker:
            self._release_lock()
        if worker in self.waiting:
            self.waiting.remove(worker)
        kind = {"response_timeout": outcome.RESPONSE_TIMEOUT,
                "scaled_down": outcome.WORKER_STOPPED}.get(reason, outcome.CONNECTION_RESET)
        for request in batch or ():
            self.respond(request, kind)

    def shutdown(self) -> None:
        """The container is gone: every request it held is reset, every worker process ends."""
        self.workers.stop_all()
        while self.queue:
            self._deliver(self.queue.popleft(), outcome.CONNECTION_RESET)

    # --- observations -----------------------------------------------------------------------------------------
    @property
    def pending(self) -> int:
        """Requests accepted and not yet in a running batch (TorchServe's queue plus a batch being collected)."""
        return len(self.queue) + (len(self.holder.batch) if self.holder is not None and self.holder.batch else 0)
