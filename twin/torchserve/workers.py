"""TorchServe worker processes: start, model load, GPU memory, failure and retry, management-API scaling.

Fidelity ledger — upstream: pytorch/serve 0.12 `WorkLoadManager.modelChanged`, `WorkerThread` (BACK_OFF, retry,
shutdown, isHealthy), docs/management_api.md.
Modelled: `PUT /models/{m}?min_worker&max_worker` semantics (add `min − current` workers if below min, else stop the
newest workers beyond max; no autonomous scaling in between); each worker is a process with host RSS from spawn and
GPU memory from model load, on a device chosen round-robin; a worker whose model does not fit in GPU memory dies and
is retried after the Fibonacci BACK_OFF (1, 1, 2, 3, 5, … s; reset by a successful load) while within
max_retry_timeout (300 s) of the first failure, then stays dead; GPU memory grows from the idle to the served footprint
at a worker's first inference (CUDA caching allocator). Not modelled: parallelLevel > 1 (torchrun), the 2-minute
connect timeout, describe-job batching breaks. A loading worker is reported to its node (`loading`), whose CPU it
keeps busy until READY or its end (twin/k8s/node.py).
"""
from __future__ import annotations

from typing import Callable

import simpy

from twin.config.schema import ModelConfig, ModelProfile
from twin.gpu.device import Accelerator
from twin.kernel.timer import call_later

BACK_OFF_S = (0, 1, 1, 2, 3, 5, 8, 13, 21, 34, 55, 89, 144, 233, 377, 610, 987, 1597)
MAX_RETRY_TIMEOUT_S = 300.0

STARTING, READY, STOPPED = "starting", "ready", "stopped"


class Worker:
    """One backend worker process (a WorkerThread and its Python process)."""

    __slots__ = ("index", "accelerator", "state", "served", "gpu_mib", "backoff", "recovery_start", "generation",
                 "batch", "job", "batch_started", "scaled_down", "loading")

    def __init__(self, index: int, accelerator: Accelerator | None) -> None:
        self.index = index
        self.accelerator = accelerator
        self.state = STARTING
        self.served = False
        self.gpu_mib = 0.0
        self.backoff = 0
        self.recovery_start: float | None = None
        self.generation = 0  # bumped when the process dies: stale timers of the old process do nothing
        self.batch: list | None = None  # requests being collected or served
        self.job: tuple | None = None  # (shared processor, handle) of the phase in progress
        self.batch_started = 0.0
        self.scaled_down = False
        self.loading = False  # its model load is under way


class Workers:
    """The workers of one model in one TorchServe instance."""

    def __init__(self, env: simpy.Environment, *, profile: ModelProfile, config: ModelConfig,
                 accelerators: list[Accelerator], rss_changed: Callable[[float], None],
                 log: Callable[..., None], became_ready: Callable[[Worker], None],
                 lost: Callable[[Worker, str], None], loading: Callable[[int], None] | None = None) -> None:
        self.env = env
        self.loading = loading or (lambda _: None)
        self.profile = profile
        self.accelerators = accelerators
        self.rss_changed = rss_changed
        self.log = log
        self.became_ready = became_ready
        self.lost = lost
        self.all: list[Worker] = []
        self.min_workers = config.min_workers
        self.max_workers = config.max_workers if config.max_workers is not None else config.min_workers
        self._next_index = 0
        self._gpu_counter = 0
        self.load_times: list[float] = []  # WorkerLoadTime of each successful load, seconds

    @property
    def ready(self) -> int:
        return sum(1 for w in self.all if w.state == READY)

    def scale(self, min_workers: int, max_workers: int | None = None, *, preloaded: bool = False) -> None:
        """The management API's scale call (asynchronous: returns at once, workers load in the background).
        `preloaded` starts new workers with their model already loaded (a deployment warm before the run)."""
        self.min_workers = min_workers
        self.max_workers = min_workers if max_workers is None else max_workers
        self.log("workers_scaled", min_workers=self.min_workers, max_workers=self.max_workers)
        if len(self.all) < self.min_workers:
            for _ in range(self.min_workers - len(self.all)):
                self._add(0.0 if preloaded else self.profile.load_time_s)
        else:
            for worker in list(self.all[self.max_workers:])[::-1]:
                self.stop(worker, reason="scaled_down")

    def _add(self, load_time_s: float) -> None:
        accelerator = None
        if self.profile.device == "gpu" and self.accelerators:
            accelerator = self.accelerators[self._gpu_counter % len(self.accelerators)]
            self._gpu_counter += 1
        worker = Worker(self._next_index, accelerator)
        self._next_index += 1
        self.all.append(worker)
        self._spawn(worker, load_time_s)

    def _spawn(self, worker: Worker, load_time_s: float) -> None:
        worker.state = STARTING
        worker.generation += 1
        self.rss_changed(self.profile.worker_rss_mib)
        if load_time_s > 0:  # a preloaded worker takes no CPU to load
            worker.loading = True
            self.loading(1)
        call_later(self.env, load_time_s, self._loaded, (worker, worker.generation, self.env.now))

    def _loaded(self, event: simpy.Event) -> None:
        worker, generation, started = event.value
        if generation != worker.generation or worker.state != STARTING:
            return
        self._end_load(worker)
        need = self.profile.idle_gpu_memory_mib if worker.accelerator else 0.0
        if worker.accelerator and not worker.accelerator.allocate(need):
            self.log("worker_gpu_oom", worker=worker.index, device=worker.accelerator.name, need_mib=need,
                     used_mib=worker.accelerator.used_mib, capacity_mib=worker.accelerator.memory_mib)
            self._died(worker, "gpu_oom_at_load")
            return
        worker.gpu_mib = need
        worker.state = READY
        worker.backoff = 0
        worker.recovery_start = None
        self.load_times.append(self.env.now - started)
        self.log("worker_ready", worker=worker.index, load_s=self.env.now - started)
        self.became_ready(worker)

    def grow_for_first_inference(self, worker: Worker) -> bool:
        """Reserve the served footprint at a worker's first inference; False is a CUDA OOM."""
        if worker.served or worker.accelerator is None:
            return True
        extra = max(0.0, self.profile.gpu_memory_mib - worker.gpu_mib)
        if not worker.accelerator.allocate(extra):
            return False
        worker.gpu_mib += extra
        worker.served = True
        return True

    def kill(self, worker: Worker, reason: str) -> None:
        """The worker's process died (response timeout): TorchServe restarts it after its back-off."""
        self.log("worker_died", worker=worker.index, reason=reason)
        self._died(worker, reason)

    def _died(self, worker: Worker, reason: str) -> None:
        self._release(worker)
        worker.state = STOPPED
        self.lost(worker, reason)
        now = self.env.now
        if worker.recovery_start is None:
            worker.recovery_start = now
        if now - worker.recovery_start >= MAX_RETRY_TIMEOUT_S:
            self.log("worker_gave_up", worker=worker.index)
            return
        worker.backoff = min(worker.backoff + 1, len(BACK_OFF_S) - 1)
        call_later(self.env, BACK_OFF_S[worker.backoff], self._retry, (worker, worker.generation))

    def _retry(self, event: simpy.Event) -> None:
        worker, generation = event.value
        if generation == worker.generation and worker.state == STOPPED and not worker.scaled_down:
            self._spawn(worker, self.profile.load_time_s)

    def stop(self, worker: Worker, reason: str) -> None:
        """Scale a worker down (or shut it down with the server): its process ends at once."""
        worker.scaled_down = True
        if worker.state != STOPPED:
            self._release(worker)
        worker.state = STOPPED
        self.all.remove(worker)
        self.lost(worker, reason)

    def stop_all(self) -> None:
        for worker in list(self.all):
            self.stop(worker, reason="shutdown")

    def _end_load(self, worker: Worker) -> None:
        if worker.loading:
            worker.loading = False
            self.loading(-1)

    def _release(self, worker: Worker) -> None:
        self._end_load(worker)
        worker.generation += 1
        if worker.accelerator is not None:
            worker.accelerator.free(worker.gpu_mib)
        worker.gpu_mib = 0.0
        worker.served = False
        if worker.state != STOPPED:
            self.rss_changed(-self.profile.worker_rss_mib)
