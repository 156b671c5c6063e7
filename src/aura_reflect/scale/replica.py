"""One engine replica's side of the shared state: the worker, rate limiter and metrics that
``create_app`` is given on Ray Serve, the reporter thread, and the X-Aura-Replica header.

Everything a request needs quickly stays local: a job is submitted to this replica's own worker
(registered with the cluster state without waiting), progress and cancel of a local job are answered
here. Only what may live elsewhere asks the cluster state: another replica's job, the client's
tokens, the census and the merged metrics.
"""

from __future__ import annotations

import logging
import os
import socket
import threading

import ray
from prometheus_client.metrics_core import Metric
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..api.metrics import EngineMetrics
from ..core.config import Settings
from ..engine.worker import EngineWorker, Job
from ..errors import Conflict, Unavailable

log = logging.getLogger(__name__)

REPORT_S = 1.0  # how often an idle replica reports (liveness, census, metrics)
REPORT_BUSY_S = 0.25  # while it has jobs: the staleness of remote progress and the delay of a remote cancel
CALL_TIMEOUT_S = 10.0  # a cluster-state call that takes longer means the actor is gone


def ask(call) -> object:
    """Wait for a cluster-state call; a missing or stuck actor is the engine being unavailable."""
    try:
        return ray.get(call, timeout=CALL_TIMEOUT_S)
    except (ray.exceptions.GetTimeoutError, ray.exceptions.RayActorError) as error:
        log.warning("cluster state did not answer: %s", error)
        raise Unavailable("the engine's shared state is not answering; try again shortly", retry_after=5) from None


class ClusterWorker(EngineWorker):
    """This replica's worker, with its jobs known to the cluster and everyone else's reachable."""

    def __init__(self, settings: Settings, loader, *, cluster, replica: str):
        super().__init__(settings, loader)
        self.cluster = cluster
        self.replica = replica
        self.census: dict[str, int] | None = None

    def submit(self, job: Job) -> Job:
        # Every replica must serve the same model: a switch on one would make answers depend on
        # which replica a request lands on. Another model is another Serve application.
        if job.model_path is not None and (self.model is None or job.model_path != self.model.source):
            field = "modelPath" if job.kind == "load" else "config.modelPath"
            raise Conflict(
                f"{field}: this engine runs as several Ray Serve replicas that all serve its configured "
                "model; switching models is not available here (deploy another application for another model)"
            )
        super().submit(job)
        # Not awaited (this runs on the event loop): calls from one process reach the actor in order,
        # so the job's unregister cannot overtake its register.
        self.cluster.register.remote(job.id, self.replica, super().progress(job.id))
        return job

    def _finish(self, job: Job, result=None, error=None) -> None:
        super()._finish(job, result=result, error=error)
        self.cluster.unregister.remote(job.id, self.replica)

    def progress(self, job_id: str) -> dict | None:
        """A local job's progress, else the cluster's last report of it (called off the event loop)."""
        return super().progress(job_id) or ask(self.cluster.progress.remote(job_id))

    def cancel_by_id(self, job_id: str) -> bool:
        """Cancel a local job now, another replica's with that replica's next report."""
        return super().cancel_by_id(job_id) or ask(self.cluster.cancel.remote(job_id))

    def replicas(self) -> dict[str, int] | None:
        return self.census

    def snapshot(self) -> dict[str, dict | None]:
        """This replica's jobs and their progress, for its report."""
        return {job_id: EngineWorker.progress(self, job_id) for job_id in list(self.jobs_by_id)}


class ClusterRateLimiter:
    """RateLimiter's interface over the cluster's buckets. Called from a sync dependency, which
    FastAPI runs in its threadpool, so the wait for the actor does not block the event loop."""

    def __init__(self, cluster):
        self.cluster = cluster

    def acquire(self, client: str) -> int | None:
        return ask(self.cluster.acquire.remote(client))


class ClusterMetrics(EngineMetrics):
    """This replica's metrics, labelled ``replica``; ``/metrics`` renders every replica's."""

    def __init__(self, cluster, replica: str):
        super().__init__()
        self.cluster = cluster
        self.replica = replica

    def families(self) -> list[Metric]:
        """This replica's metric families with a ``replica`` label on every sample (what it reports)."""
        families = []
        for family in self.registry.collect():
            labelled = Metric(family.name, family.documentation, family.type, family.unit)
            labelled.samples = [s._replace(labels={**s.labels, "replica": self.replica}) for s in family.samples]
            families.append(labelled)
        return families

    def collector(self):
        families = ask(self.cluster.metrics.remote())
        return _Families(families)


class _Families:
    """A prometheus_client collector over already collected families."""

    def __init__(self, families: list[Metric]):
        self._families = families

    def collect(self):
        return iter(self._families)


class Reporter:
    """The replica's thread that reports to the cluster state and applies what comes back."""

    def __init__(self, worker: ClusterWorker, metrics: ClusterMetrics):
        self.worker = worker
        self.metrics = metrics
        # Where this replica runs, for ClusterState.members: its process and machine (a pod's name).
        self.process = {"pid": os.getpid(), "host": socket.gethostname()}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._main, name="aura-cluster-report", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(CALL_TIMEOUT_S)
        try:
            ray.get(self.worker.cluster.leave.remote(self.worker.replica), timeout=CALL_TIMEOUT_S)
        except Exception as error:  # shutting down: the census will drop this replica by timeout
            log.warning("could not leave the cluster state: %s", error)

    def report_once(self) -> None:
        worker = self.worker
        status, _ = worker.status()
        reply = ray.get(
            worker.cluster.report.remote(
                worker.replica, status, worker.snapshot(), self.metrics.families(), self.process
            ),
            timeout=CALL_TIMEOUT_S,
        )
        for job_id in reply["cancel"]:
            EngineWorker.cancel_by_id(worker, job_id)  # local only: it may have finished meanwhile
        worker.census = reply["replicas"]
        if reply["drain"] and not worker.draining:
            worker.begin_drain()

    def _main(self) -> None:
        while True:
            try:
                self.report_once()
            except Exception as error:  # keep reporting: the actor may be restarting
                log.warning("report to the cluster state failed: %s", error)
            if self._stop.wait(REPORT_BUSY_S if self.worker.jobs_by_id else REPORT_S):
                return


class ReplicaHeader:
    """ASGI middleware: every response names the replica that made it (``X-Aura-Replica``)."""

    def __init__(self, app: ASGIApp, name: str):
        self.app = app
        self.header = (b"x-aura-replica", name.encode())

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_named(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), self.header]
            await send(message)

        await self.app(scope, receive, send_named)
