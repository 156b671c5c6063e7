"""The engine as a Ray Serve deployment: each replica is the whole FastAPI app of ``create_app``
(every route, the OpenAI API, /health, /metrics, the studio) behind Ray's HTTP proxy, owning one
device with its own queue and micro-batching. Nothing here defines a route.
"""

from __future__ import annotations

import asyncio
import os
from contextlib import asynccontextmanager
from functools import partial

import ray
from ray import serve
from ray.serve import Application
from ray.serve.deployment import Deployment

from ..app import create_app
from ..core.config import Settings, load_settings
from .replica import ClusterMetrics, ClusterRateLimiter, ClusterWorker, Reporter, ReplicaHeader, ask
from .state import ClusterState

# Requests Serve may send one replica at once: its queue, a full batch running, and room for the
# light requests (health, progress, metrics) that must not wait behind generations. Beyond that the
# proxy holds requests back; a replica whose own queue is full still answers 503 + Retry-After.
LIGHT_REQUESTS = 8
STATE_NAMESPACE = "aura"
LOCAL_APP = "aura"  # the application's name under `aura serve --replicas`


def state_name(app_name: str) -> str:
    return f"aura-state-{app_name}"


def cluster_state(app_name: str, settings: Settings):
    """The application's one ClusterState actor, created by whichever replica starts first.

    Detached, so it outlives the replicas that come and go under autoscaling; restarted by Ray if
    its process dies (its buckets and job table start empty then; replicas re-report within seconds).
    """
    actor = (
        ray.remote(ClusterState)
        .options(
            name=state_name(app_name),
            namespace=STATE_NAMESPACE,
            lifetime="detached",
            get_if_exists=True,
            num_cpus=0,
            max_restarts=-1,
        )
        .remote(settings.rate_limit_per_min, settings.rate_burst)
    )
    ask(actor.configure.remote(settings.rate_limit_per_min, settings.rate_burst))
    return actor


@serve.deployment(name="AuraEngine")
@serve.ingress()
class AuraEngine:
    """One engine replica. The app is built after the constructor (``__serve_build_asgi_app__``), in
    the replica's process, so that it knows the replica's name and the cluster state's handle."""

    def __init__(self, settings: Settings):
        context = serve.get_replica_context()
        self.settings = settings
        self.name = f"{context.deployment}#{context.replica_tag}"
        self.cluster = cluster_state(context.app_name, settings)

    def __serve_build_asgi_app__(self):
        metrics = ClusterMetrics(self.cluster, self.name)
        app = create_app(
            self.settings,
            worker_factory=partial(ClusterWorker, cluster=self.cluster, replica=self.name),
            rate_limiter=ClusterRateLimiter(self.cluster),
            metrics=metrics,
        )
        app.add_middleware(ReplicaHeader, name=self.name)
        engine_lifespan = app.router.lifespan_context

        @asynccontextmanager
        async def lifespan(app):
            # Serve sends a replica requests once its start-up returns: return only once the model
            # is loaded (and warmed up), so a new replica never answers "loading" to a client.
            async with engine_lifespan(app) as state:
                worker = app.state.worker
                reporter = Reporter(worker, metrics)
                reporter.start()
                try:
                    while worker.state == "loading":
                        await asyncio.to_thread(worker.wait_ready, 5)
                    if worker.state == "error":
                        raise RuntimeError(f"model failed to load: {worker.error}")
                    yield state
                finally:
                    await asyncio.to_thread(reporter.stop)

        app.router.lifespan_context = lifespan
        return app  # Serve keeps it; ``self.app`` is it from then on

    def check_health(self) -> None:
        """Ray Serve calls this every AURA_HEALTH_CHECK_S; raising 3 times in a row makes it replace the replica.
        A worker whose model failed, or whose running job made no progress for AURA_WATCHDOG_S."""
        status, error = self.app.state.worker.status()
        if status in ("error", "stuck"):
            raise RuntimeError(f"engine replica {self.name} is {status}: {error}")


def deployment_options(settings: Settings) -> dict:
    """Replicas, resources and shutdown of the deployment, from the settings.

    One device per replica: a whole GPU where the cluster has GPUs (or AURA_REPLICA_GPUS), else
    AURA_REPLICA_CPUS cores. A fixed count when AURA_MIN_REPLICAS equals AURA_MAX_REPLICAS, else
    autoscaling on the requests in flight per replica.
    """
    low, high = settings.replica_range
    gpus = settings.replica_gpus
    if gpus is None:
        gpus = 1 if ray.cluster_resources().get("GPU", 0) > 0 else 0
    options = {
        "ray_actor_options": {"num_cpus": settings.replica_cpus, "num_gpus": gpus},
        "max_ongoing_requests": settings.max_queue + settings.max_batch + LIGHT_REQUESTS,
        # Serve stops routing to a replica that is shutting down and lets its requests finish for
        # up to this long, as AURA_SHUTDOWN_GRACE_S does for `aura serve`; then the worker stops.
        "graceful_shutdown_timeout_s": settings.shutdown_grace_s,
        "health_check_period_s": settings.health_check_s,
    }
    if low == high:
        options["num_replicas"] = low
    else:
        options["autoscaling_config"] = {
            "min_replicas": low,
            "max_replicas": high,
            "target_ongoing_requests": settings.target_ongoing_requests,
            "upscale_delay_s": settings.upscale_delay_s,
            "downscale_delay_s": settings.downscale_delay_s,
            "look_back_period_s": settings.autoscale_look_back_s,
        }
    return options


def engine_deployment(settings: Settings) -> Deployment:
    return AuraEngine.options(**deployment_options(settings))


def engine_app(settings: Settings) -> Application:
    """The Serve application for these settings (validated here, once, on the driver)."""
    return engine_deployment(settings).bind(settings)


def build_app(args: dict[str, str]) -> Application:
    """The builder behind ``serve run aura_reflect.scale:build_app`` and deploy/ray/serve.yaml.

    Settings come from the environment (the config's ``runtime_env.env_vars``) as for ``aura serve``;
    ``args`` may override them by variable name, e.g. ``serve run aura_reflect.scale:build_app
    SD_MODEL_ID=/models/sd15``. A bad value fails the deploy with a message naming the variable.
    """
    return engine_app(load_settings(**(args or {})))


def drain(app_name: str, grace_s: float) -> bool:
    """Drain every replica of an application, as SIGTERM drains ``aura serve``: new work gets 503 with
    Retry-After (from each replica's next report, within a second) while accepted work finishes.
    Returns whether it all finished within ``grace_s``; what is left is cancelled by the shutdown."""
    import time

    state = ray.get_actor(state_name(app_name), namespace=STATE_NAMESPACE)
    deadline = time.monotonic() + grace_s
    while ask(state.drain.remote()) > 0:
        if time.monotonic() > deadline:
            return False
        time.sleep(0.2)
    return True


def init_ray(host: str | None = None, **options) -> None:
    """``ray.init`` for a cluster started by this process, its HTTP proxies answering a request whose
    replica died with 503 + Retry-After, and applying the engine's CORS rule for ``host``, the
    address they bind (proxy.py). Ray's processes copy this process's environment when they start,
    so the variables are set for the call only. Connecting to a running cluster (``RAY_ADDRESS``)
    changes nothing there: set them in that cluster's environment instead."""
    from .proxy import CALLBACK, CALLBACK_VARIABLE

    variables = {CALLBACK_VARIABLE: os.environ.get(CALLBACK_VARIABLE) or CALLBACK}  # an operator's own callback wins
    if host is not None:
        variables["HOST"] = host
    previous = {name: os.environ.get(name) for name in variables}
    os.environ.update(variables)
    try:
        ray.init(**options)
    finally:
        for name, value in previous.items():
            if value is None:
                del os.environ[name]
            else:
                os.environ[name] = value


def run_local(settings: Settings, host: str, port: int) -> None:
    """``aura serve --replicas N``: a Ray cluster on this machine, Serve's proxy on host:port, until
    Ctrl-C or SIGTERM; then the replicas drain (``drain``) and the process exits 0, as ``aura serve``."""
    import signal

    def interrupt(signum, frame):
        raise KeyboardInterrupt  # what Serve's blocking run waits for; replaces ray.init's handler

    init_ray(host)
    signal.signal(signal.SIGTERM, interrupt)
    serve.start(http_options={"host": host, "port": port})
    try:
        serve.run(engine_app(settings), name=LOCAL_APP, route_prefix="/", blocking=True)
    except KeyboardInterrupt:
        drain(LOCAL_APP, settings.shutdown_grace_s)
    finally:
        serve.shutdown()
        ray.shutdown()
