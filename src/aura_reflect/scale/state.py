"""The state that must be one across replicas, kept in one small Ray actor.

Each replica owns its device, queue and micro-batching; what a client expects to be global lives
here instead: the per-client token buckets (so AURA_RATE_LIMIT holds for the whole engine, not once
per replica), which replica holds which job (so any replica can answer ``/jobs/{id}`` or cancel it),
which replicas are up and ready (``/health``), and each replica's latest metrics (``/metrics``).

It is a plain class, made an actor by ``cluster_state``: calls run one at a time, so no locks.
Replicas report every ``REPORT_S`` (faster while they have jobs): their status, their jobs'
progress and their metrics; the answer carries the cancellations asked of them elsewhere.
"""

from __future__ import annotations

import time
from collections import defaultdict

from ..api.limits import RateLimiter

# A replica that has not reported for this long is gone: it leaves the census with its jobs.
REPLICA_TIMEOUT_S = 10.0


class ClusterState:
    def __init__(self, per_minute: float, burst: int):
        self.limiter = RateLimiter(per_minute, burst)
        self.replicas: dict[str, dict] = {}  # name -> {"seen", "status", "metrics", "process"}
        self.jobs: dict[str, dict] = {}  # job id -> {"replica", "progress"}
        self.cancels: defaultdict[str, set[str]] = defaultdict(set)  # replica -> job ids to cancel
        self.draining = False  # the whole engine is shutting down: replicas refuse new work

    def configure(self, per_minute: float, burst: int) -> None:
        """Every replica calls this at start; the buckets are kept unless the limit changed."""
        if (per_minute / 60.0, burst) != (self.limiter.rate, self.limiter.burst):
            self.limiter = RateLimiter(per_minute, burst)

    # --- rate limit -------------------------------------------------------------------------
    def acquire(self, client: str) -> int | None:
        return self.limiter.acquire(client)

    # --- jobs -------------------------------------------------------------------------------
    def register(self, job_id: str, replica: str, progress: dict | None) -> None:
        self.jobs[job_id] = {"replica": replica, "progress": progress}

    def unregister(self, job_id: str, replica: str) -> None:
        if self.jobs.get(job_id, {}).get("replica") == replica:
            del self.jobs[job_id]
            self.cancels[replica].discard(job_id)

    def progress(self, job_id: str) -> dict | None:
        """The owner's last reported progress of a job (at most one report old)."""
        entry = self.jobs.get(job_id)
        return entry["progress"] if entry else None

    def cancel(self, job_id: str) -> bool:
        """Pass a cancellation to the job's replica with its next report; False: no such job."""
        entry = self.jobs.get(job_id)
        if entry is None:
            return False
        self.cancels[entry["replica"]].add(job_id)
        return True

    # --- replicas ---------------------------------------------------------------------------
    def report(
        self, replica: str, status: str, jobs: dict[str, dict], metrics: list, process: dict | None = None
    ) -> dict:
        """A replica's periodic report; answers the cancellations for it and the census."""
        now = time.monotonic()
        self.replicas[replica] = {"seen": now, "status": status, "metrics": metrics, "process": process or {}}
        for job_id, progress in jobs.items():
            entry = self.jobs.get(job_id)  # only update: a finished job's late report must not revive it
            if entry is not None and entry["replica"] == replica and progress is not None:
                entry["progress"] = progress
        self._expire(now)
        return {
            "cancel": sorted(self.cancels.pop(replica, ())),
            "replicas": self.census(),
            "drain": self.draining,
        }

    def drain(self) -> int:
        """Shut the engine down gracefully: every replica refuses new work (503) from its next report
        on. Returns the jobs still queued or running anywhere; call again until it is 0."""
        self.draining = True
        self._expire(time.monotonic())
        return len(self.jobs)

    def leave(self, replica: str) -> None:
        """A replica shutting down: forget it (and whatever jobs it still had) at once."""
        self.replicas.pop(replica, None)
        self.cancels.pop(replica, None)
        for job_id in [j for j, entry in self.jobs.items() if entry["replica"] == replica]:
            del self.jobs[job_id]

    def census(self) -> dict[str, int]:
        return {
            "up": len(self.replicas),
            "ready": sum(1 for entry in self.replicas.values() if entry["status"] == "ok"),
        }

    def members(self) -> dict[str, dict]:
        """Each live replica's status, process (pid and host) and jobs queued or running there: to find
        a replica's process and log from the name in a response's X-Aura-Replica header.
        ``ray.get(ray.get_actor("aura-state-<app>", namespace="aura").members.remote())``."""
        self._expire(time.monotonic())
        jobs: defaultdict[str, int] = defaultdict(int)
        for entry in self.jobs.values():
            jobs[entry["replica"]] += 1
        return {
            name: {"status": entry["status"], **entry["process"], "jobs": jobs[name]}
            for name, entry in self.replicas.items()
        }

    def metrics(self) -> list:
        """Every live replica's metric families, merged by name (each sample has a replica label)."""
        from prometheus_client.metrics_core import Metric

        self._expire(time.monotonic())
        merged: dict[str, Metric] = {}
        for entry in self.replicas.values():
            for family in entry["metrics"]:
                target = merged.get(family.name)
                if target is None:
                    target = merged[family.name] = Metric(family.name, family.documentation, family.type, family.unit)
                target.samples.extend(family.samples)
        return list(merged.values())

    def _expire(self, now: float) -> None:
        for name in [n for n, entry in self.replicas.items() if now - entry["seen"] > REPLICA_TIMEOUT_S]:
            self.leave(name)
