"""One device, one worker thread, one bounded queue.

The worker thread owns the device: it loads the model, takes jobs one batch at a time and switches
models only between batches. The HTTP layer submits jobs and awaits their futures; a full queue
refuses a job at once (it never runs), with an estimate of when to retry. ``_take_batch`` is where
compatible queued jobs will be combined into one pipeline call.
"""

from __future__ import annotations

import logging
import math
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Literal

from ..core.config import Settings
from ..errors import EngineError, InternalError, InvalidInput, ModelLoadError, ModelNotReady, QueueFull, Unavailable
from . import pipeline
from .loader import LoadedModel, load_model
from .pipeline import Cancelled, EngineOutput, GenerationRequest, RefinementRequest, StepControl

log = logging.getLogger(__name__)

State = Literal["loading", "ready", "error", "stopped"]


@dataclass
class Job:
    kind: Literal["generate", "refine", "load"]
    request: GenerationRequest | RefinementRequest | None  # None for "load": switch model_path in
    model_path: str | None = None  # None: the configured model
    id: str = field(default_factory=lambda: uuid.uuid4().hex)
    control: StepControl = field(default_factory=StepControl)
    future: Future = field(default_factory=Future)
    enqueued_at: float = field(default_factory=time.perf_counter)
    started_at: float | None = None

    @property
    def image_count(self) -> int:
        request = self.request
        if request is None:
            return 0
        return len(request.images) if isinstance(request, RefinementRequest) else len(request.seeds)


class EngineWorker:
    def __init__(self, settings: Settings, loader: Callable[..., LoadedModel] = load_model):
        self.settings = settings
        self._loader = loader
        self._jobs: deque[Job] = deque()
        self._cond = threading.Condition()
        self._thread: threading.Thread | None = None
        self._stopping = False
        self.draining = False  # SIGTERM: finish what was accepted, accept nothing new
        self.state: State = "loading"
        self.error: str | None = None
        self.model: LoadedModel | None = None
        self.batch: list[Job] = []  # the jobs of the running pipeline call (empty when idle)
        self.jobs_by_id: dict[str, Job] = {}
        self.on_batch: Callable[[int], None] | None = None  # metrics: images per pipeline call
        # Seconds per image, smoothed; seeds the Retry-After estimate before the first job.
        self._seconds_per_image = 2.0

    # --- lifecycle -----------------------------------------------------------------------------
    def start(self) -> None:
        self._thread = threading.Thread(target=self._main, name="aura-engine-worker", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        with self._cond:
            self._stopping = True
            pending = list(self._jobs)
            self._jobs.clear()
            for job in self.batch:
                if not job.control.cancel.is_set():  # a job its client cancelled stays cancelled
                    job.control.stopped_by_shutdown = True
                job.control.cancel.set()
            self._cond.notify_all()
        for job in pending:
            self._finish(job, error=Unavailable("engine is shutting down", retry_after=5))
        if self._thread is not None:
            self._thread.join(timeout)
        self.state = "stopped"

    def begin_drain(self) -> None:
        """Refuse new work (503) while queued and running jobs finish; called on SIGTERM."""
        self.draining = True
        log.info("draining: %d queued, %d running", len(self._jobs), len(self.batch))

    @property
    def running(self) -> Job | None:
        """The first job of the running batch, None when idle."""
        batch = self.batch
        return batch[0] if batch else None

    def stuck_seconds(self) -> float:
        """Seconds the running job has gone without finishing a denoising step (0 when idle)."""
        job = self.running
        if job is None:
            return 0.0
        return time.monotonic() - job.control.last_progress

    def status(self) -> tuple[str, str | None]:
        """What /health reports, and why when not serving: ``ok``, ``loading``, ``error``,
        ``stopping``, ``draining`` (SIGTERM), or ``stuck`` (no denoising step for AURA_WATCHDOG_S).
        One definition for /health and for a supervisor's health check (Ray Serve's check_health)."""
        status = {"loading": "loading", "ready": "ok", "error": "error", "stopped": "stopping"}[self.state]
        if status == "ok" and self.draining:
            return "draining", None
        stuck = self.stuck_seconds()
        if status == "ok" and stuck > self.settings.watchdog_s:
            return "stuck", f"no denoising step finished for {stuck:.0f} s (AURA_WATCHDOG_S={self.settings.watchdog_s:g})"
        return status, self.error

    def replicas(self) -> dict[str, int] | None:
        """How many engine replicas are up and ready; None: this process is the whole engine."""
        return None

    def wait_ready(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while self.state == "loading" and time.monotonic() < deadline:
            time.sleep(0.02)
        return self.state == "ready"

    # --- submitting ----------------------------------------------------------------------------
    def submit(self, job: Job) -> Job:
        with self._cond:
            if self._stopping or self.draining:
                raise Unavailable("engine is shutting down", retry_after=5)
            if self.state == "loading":
                raise ModelNotReady("model is loading", retry_after=5)
            if self.state == "error":
                raise ModelNotReady(f"model failed to load: {self.error}", retry_after=60)
            if job.id in self.jobs_by_id:
                raise InvalidInput("requestId", f"{job.id!r} is already in use by a queued or running request")
            if len(self._jobs) >= self.settings.max_queue:
                raise QueueFull(
                    f"engine is busy: {len(self._jobs)} requests are queued (limit {self.settings.max_queue})",
                    retry_after=self._retry_after_locked(job.image_count),
                )
            self._jobs.append(job)
            self.jobs_by_id[job.id] = job
            self._cond.notify()
        return job

    def cancel(self, job: Job) -> None:
        """Drop a queued job, or stop a running one at its next denoising step."""
        with self._cond:
            job.control.cancel.set()
            if job in self._jobs:
                self._jobs.remove(job)
                queued = True
            else:
                queued = False
        if queued:
            self._finish(job, error=Cancelled("cancelled before it started"))

    def progress(self, job_id: str) -> dict | None:
        """Where a queued or running job stands; None once it is finished (or was never here)."""
        with self._cond:
            job = self.jobs_by_id.get(job_id)
            if job is None:
                return None
            if job in self.batch:
                return {"id": job_id, "state": "running", "step": job.control.step, "total": job.control.total,
                        "position": 0}
            position = next((i + 1 for i, queued in enumerate(self._jobs) if queued is job), 0)
            total = pipeline.total_steps(job.request)
            return {"id": job_id, "state": "queued", "step": 0, "total": total, "position": position}

    def cancel_by_id(self, job_id: str) -> bool:
        job = self.jobs_by_id.get(job_id)
        if job is None:
            return False
        self.cancel(job)
        return True

    @property
    def depth(self) -> int:
        return len(self._jobs)

    def _retry_after_locked(self, images: int) -> int:
        waiting_images = sum(job.image_count for job in self._jobs) + images
        waiting_images += sum(job.image_count for job in self.batch)
        return max(1, math.ceil(waiting_images * self._seconds_per_image))

    # --- the worker thread ---------------------------------------------------------------------
    def _main(self) -> None:
        try:
            self.model = self._loader(self.settings)
            self.state = "ready"
        except Exception as error:  # the process stays up and /health says why
            log.exception("model failed to load")
            self.error = error.message if isinstance(error, EngineError) else f"{type(error).__name__}: {error}"
            self.state = "error"
            return
        while True:
            with self._cond:
                while not self._jobs and not self._stopping:
                    self._cond.wait()
                if self._stopping:
                    return
                batch = self._take_batch()
                self.batch = batch
            if self.on_batch is not None:
                self.on_batch(sum(job.image_count for job in batch))
            try:
                self._run(batch)
            finally:
                with self._cond:
                    self.batch = []

    def _take_batch(self) -> list[Job]:
        """The jobs to run next (called with the lock held).

        A generation takes the queued companions that can share its pipeline call (same model and
        ``pipeline.batch_key``), up to ``max_batch`` images: the jobs that arrived while the last
        call ran, so batches grow with the load and a lone job starts at once. With
        ``batch_wait_ms`` > 0 it also waits that long for more. Everything else runs alone, in
        arrival order.
        """
        first = self._jobs.popleft()
        max_images = self.settings.max_batch
        if first.kind != "generate" or first.image_count >= max_images:
            return [first]
        key = (first.model_path, pipeline.batch_key(first.request))
        batch, images = [first], first.image_count
        deadline = time.monotonic() + self.settings.batch_wait_ms / 1000
        while True:
            for job in list(self._jobs):
                if (
                    job.kind == "generate"
                    and (job.model_path, pipeline.batch_key(job.request)) == key
                    and images + job.image_count <= max_images
                ):
                    self._jobs.remove(job)
                    batch.append(job)
                    images += job.image_count
            remaining = deadline - time.monotonic()
            if images >= max_images or remaining <= 0 or self._stopping:
                return batch
            self._cond.wait(remaining)  # releases the lock: submissions go on meanwhile

    def _run(self, batch: list[Job]) -> None:
        """Run one job (generate, refine or load), or several compatible generations in one call."""
        first = batch[0]
        started = time.perf_counter()
        for job in batch:
            job.started_at = started
            job.control.last_progress = time.monotonic()
        try:
            self._ensure_model(first.model_path, "modelPath" if first.kind == "load" else "config.modelPath")
            assert self.model is not None
            if first.kind == "load":
                self._finish(first, result=self.model)
                return
            if first.kind == "refine":
                outputs = [pipeline.refine(self.model, first.request, first.control)]
            else:
                outputs = pipeline.generate_batch(
                    self.model, [job.request for job in batch], [job.control for job in batch]
                )
        except EngineError as error:
            for job in batch:
                self._finish(job, error=error)
            return
        except Exception:
            log.exception("job(s) %s failed", ", ".join(job.id for job in batch))
            for job in batch:
                self._finish(job, error=InternalError(f"internal error in job {job.id}; the engine log has the details"))
            return
        images = sum(job.image_count for job in batch)
        self._seconds_per_image = 0.7 * self._seconds_per_image + 0.3 * (outputs[0].seconds / images)
        for job, output in zip(batch, outputs):
            if job.control.cancel.is_set():  # cancelled while its companions ran on
                self._finish(job, error=Cancelled("cancelled"))
            else:
                self._finish(job, result=output)

    def _ensure_model(self, model_path: str | None, field_name: str) -> None:
        """Switch models between batches: release the old one first, so only one is resident."""
        assert self.model is not None
        if model_path is None or self.model.source == model_path:
            return
        previous_source = self.model.source
        device = self.model.device
        self.model = None
        pipeline.release_memory(device)
        try:
            self.model = self._loader(self.settings, model_id=model_path)
        except ModelLoadError as error:
            self.model = self._loader(self.settings, model_id=previous_source)
            raise InvalidInput(field_name, f"failed to load: {error.message}") from None

    def _finish(self, job: Job, result: EngineOutput | None = None, error: BaseException | None = None) -> None:
        self.jobs_by_id.pop(job.id, None)
        if job.future.done():
            return
        if isinstance(error, Cancelled) and job.control.stopped_by_shutdown:
            # Stopped by a shutdown, not by its client: say so, so that the client (or Ray's proxy
            # in front of a replica being replaced) retries rather than reading a cancel.
            error = Unavailable("engine is shutting down: the work was stopped before it finished", retry_after=5)
        if error is not None:
            job.future.set_exception(error)
        else:
            job.future.set_result(result)
