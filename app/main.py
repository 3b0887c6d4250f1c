"""The app factory, its lifespan (store, storage, workers, webhooks) and ``serve``.

``create_app(settings)`` builds a FastAPI app; nothing heavy happens until the lifespan starts:
then the store is opened, jobs left running by a dead process are recovered, workers start
(models load lazily, in the workers, on their first job) and pending webhooks resume.
Run it with ``lessonlens serve`` or ``uvicorn --factory app.main:create_app``.
"""

from __future__ import annotations

import asyncio
import gc
import importlib
import logging
import os
import signal
import socket
import threading
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from types import FrameType
from typing import Any

from fastapi import FastAPI
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.api import Services
from app.api import batches as batch_routes
from app.api import classify as classify_routes
from app.api import fit as fit_routes
from app.api import health as health_routes
from app.api import jobs as job_routes
from app.api import stages as stage_routes
from app.api import translations as translation_routes
from app.api import web as web_routes
from app.api.errors import install_error_handlers
from app.api.links import install_log_redaction
from app.limits import InputLimitsMiddleware
from app.metrics import Metrics
from app.migrations import ensure_schema
from app.services import build_services, stop_services
from app.settings import Settings

log = logging.getLogger(__name__)


class _MetricsMiddleware:
    """Request latency by route template (a pure ASGI middleware: no per-request task overhead).
    ``answered`` is set once the first request has been answered (``_warm_up`` waits for it)."""

    def __init__(self, app: ASGIApp, metrics: Metrics, answered: threading.Event | None = None) -> None:
        self.app = app
        self.metrics = metrics
        self.answered = answered

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_wrapper(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            route = getattr(scope.get("route"), "path", "unmatched")
            self.metrics.requests.labels(scope["method"], route, str(status)).observe(
                time.perf_counter() - started)
            if self.answered is not None and not self.answered.is_set():
                self.answered.set()


# How long the warm-up waits for the process's first request to be answered before it starts anyway.
WARM_UP_WAIT_S = 0.5


def _warm_up(app: FastAPI, services: Services, answered: threading.Event, stopping: threading.Event) -> None:
    """What the first submission would otherwise pay for, done once the process has answered its
    first request (the health check that finds it up) or after ``WARM_UP_WAIT_S``: run at once,
    beside that request, it delayed the first /healthz by ~0.1 s (median of 10 starts of
    ``serve --workers 2``: 1.05 s, 0.95 s with no warm-up). It loads the media and stage
    modules, PyAV, anyio's event-loop backend (the first upload's time limit imports it), checks
    the options of every stage, runs the store's first statements (a cold first submission took
    122 ms against 5 ms after it, and a burst of 50 clients at start-up queued behind it: submit
    p99 223 ms, 89 ms after that first burst) and builds the routes (``_build_routes``).
    Nothing once ``stopping`` is set (an app stopped within the wait). Errors are only logged."""
    answered.wait(WARM_UP_WAIT_S)
    if stopping.is_set():
        return
    started = time.monotonic()
    try:
        import av  # noqa: F401  (the upload probe)
        import python_multipart  # noqa: F401  (the upload form)

        from app.stages.graph import DEFAULT_STAGES, normalise_options, plan

        importlib.import_module("anyio._backends._asyncio")  # what anyio.fail_after imports first
        normalise_options(plan(list(DEFAULT_STAGES)), {})
        services.store.count_active("warm-up")
        services.store.find_idempotent("warm-up", "warm-up")
        _build_routes(app)
        log.info("warm-up done in %.2f s", time.monotonic() - started)
    except Exception:  # a warm-up is an optimisation: the request that needs it will say what is wrong
        log.exception("warm-up failed (requests still work, the first ones slower)")


def _build_models() -> None:
    """Build the validators of our pydantic models not yet built (``app/__init__.py`` defers
    every model's from import to first use): ~20 ms for ours, before FastAPI builds a route on
    one."""
    from pydantic import BaseModel

    pending: list[type[BaseModel]] = [BaseModel]
    seen: set[type[BaseModel]] = set()
    while pending:
        for cls in pending.pop().__subclasses__():
            if cls in seen:
                continue
            seen.add(cls)
            pending.append(cls)
            if cls.__module__.startswith(("app.", "pipelines.")):
                # A TypeAdapter over it (FastAPI's, of a body) is then built at once too, where
                # FastAPI silences that warning; deferred, it was built on the first request.
                cls.model_config["defer_build"] = False
                if not cls.__pydantic_complete__:
                    cls.model_rebuild()


def _build_routes(app: FastAPI) -> None:
    """Have FastAPI build every route now. It builds an included router's routes (their
    dependencies and parameter models) when a request first walks past them, ~40 ms of CPU for
    all of ours: the first submission of a burst paid for the routers before its own, and the
    first ``/healthz``, when its router came last, for all of them. A request for a path that no
    route has walks them all; it goes to the router alone (no middleware: not counted in the
    metrics) on an event loop of this thread's own, and is answered 404 into nothing."""
    path = "/.lessonlens-warm-up"
    scope: Scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET",
                    "scheme": "http", "path": path, "raw_path": path.encode(), "root_path": "",
                    "query_string": b"", "headers": [], "client": None, "server": None}

    async def receive() -> Message:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Message) -> None:
        return None

    asyncio.run(app.router(scope, receive, send))


def create_app(settings: Settings | None = None) -> FastAPI:
    """The lessonlens API. Settings default to the environment (``LESSONLENS_*``)."""
    settings = settings or Settings()
    _build_models()  # before FastAPI builds a route on one (a no-op where ``serve`` did it before forking)
    metrics = Metrics()
    answered = threading.Event()  # the first request answered: the warm-up may start
    if not logging.getLogger().handlers:  # run by plain uvicorn: still log what ran and why it failed
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        started = time.monotonic()
        services = build_services(settings, metrics)
        app.state.services = services
        # What start-up allocated lives as long as the app: keep the cyclic GC from walking it on
        # every full collection (a full collection would otherwise pause requests the longer it is).
        # No gc.collect() first: it walked the ~87,000 tracked objects for about 50 ms of CPU before
        # the first /healthz answer, and found 75 to free.
        gc.freeze()
        stopping = threading.Event()
        warm_up = threading.Thread(target=_warm_up, args=(app, services, answered, stopping), name="warm-up",
                                   daemon=True)
        warm_up.start()
        log.info("lessonlens API ready in %.2f s: data %s, store %s, %d worker(s), auth %s",
                 time.monotonic() - started, settings.data_dir, services.store.__class__.__name__,
                 settings.workers, "on" if services.key_ids else "off")
        try:
            yield
        finally:
            # A warm-up still waiting gives up; one under way ends before the store closes under it.
            stopping.set()
            answered.set()
            warm_up.join(timeout=10)
            stop_services(services)
            log.info("lessonlens API stopped")

    install_log_redaction()  # keys or link signatures in a query string never reach the access log
    app = FastAPI(title="lessonlens", version="0.1.0", lifespan=lifespan,
                  description="Training videos in; subtitles, on-screen text and more out. Async jobs.")
    install_error_handlers(app)
    # The health routes first: a request builds the routes of each router it walks past on the way
    # to its own the first time (``_build_routes``), and the first /healthz comes right after start.
    app.include_router(health_routes.router)
    app.include_router(translation_routes.router)  # before the job routes' /files/{name}
    app.include_router(job_routes.router)
    app.include_router(batch_routes.router)
    app.include_router(classify_routes.router)
    app.include_router(fit_routes.router)
    app.include_router(stage_routes.router)
    app.include_router(web_routes.router)
    app.add_middleware(InputLimitsMiddleware, settings=settings)
    app.add_middleware(_MetricsMiddleware, metrics=metrics, answered=answered)
    return app


# The port's socket of ``serve --workers N``: bound in the process the HTTP processes fork from, never
# listened on there; each HTTP process puts a listening socket of its own in its place.
_port_socket: socket.socket | None = None


def _bind_port(host: str, port: int) -> socket.socket:
    """A socket bound to ``host:port`` with ``SO_REUSEPORT``: others bound to the same address by
    this user's processes share its connections, the kernel handing each new one to one of them.
    Not listening yet (a socket only takes connections once it listens)."""
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    try:
        sock.bind((host, port))
    except BaseException:
        sock.close()
        raise
    return sock


def _own_listening_socket() -> None:
    """In an HTTP process: replace the inherited port socket with one of this process's own.

    With one socket shared by the processes, whichever woke first accepted a burst of new
    connections: 50 clients connecting at once were split 33/17, 18/32, 15/35 between two
    processes, and the busier one answered its share one after another while the other idled. With
    a socket each (``SO_REUSEPORT``) the kernel spreads the connections over the processes."""
    if _port_socket is None:
        return
    host, port = _port_socket.getsockname()[:2]
    own = _bind_port(host, port)
    os.dup2(own.fileno(), _port_socket.fileno())  # uvicorn serves the fd it was given: now this one
    own.close()


def create_http_process_app() -> FastAPI:
    """``create_app`` in an HTTP process of ``serve --workers N``: the process ends with ``serve``,
    however that ends (one left behind by a SIGKILLed ``serve`` kept answering on the port and, once
    the job process had ended with it, took the leader lock and ran the jobs), and listens on a
    socket of its own (``_own_listening_socket``)."""
    from app.job_process import die_with_parent

    die_with_parent("lessonlens-http")
    _own_listening_socket()
    return create_app()


def _serve_processes(host: str, port: int, workers: int, uvicorn_options: dict[str, Any]) -> None:
    """``uvicorn.run`` with ``workers`` processes, on a port socket they each listen on apart
    (``_own_listening_socket``)."""
    global _port_socket
    from uvicorn import Config
    from uvicorn.supervisors import Multiprocess

    config = Config(f"{__name__}:create_http_process_app", factory=True, host=host, port=port,
                    workers=workers, **uvicorn_options)
    try:
        _port_socket = _bind_port(host, port)
    except OSError as e:
        raise SystemExit(f"cannot listen on {host}:{port}: {e.strerror or e}") from None
    _port_socket.set_inheritable(True)
    where = f"[{host}]" if ":" in host else host
    logging.getLogger("uvicorn.error").info("Uvicorn running on http://%s:%d (Press CTRL+C to quit)", where,
                                            _port_socket.getsockname()[1])
    try:
        Multiprocess(config, sockets=[_port_socket]).run()
    except KeyboardInterrupt:
        pass
    finally:
        _port_socket.close()
        _port_socket = None


def _exit_quietly(_signum: int, _frame: FrameType | None) -> None:
    raise SystemExit(0)


def serve(settings: Settings, host: str = "127.0.0.1", port: int = 8000, workers: int = 1,
          **uvicorn_options: Any) -> None:
    """Run the API with uvicorn in ``workers`` processes. Blocks until stopped.

    One HTTP process runs the app built from ``settings``. Several each build theirs from the
    environment (``LESSONLENS_*``, as ``settings`` was): they share the port, the store and the
    metrics (multiprocess mode). With the embedded queue the jobs run in a process of their own
    that serves no HTTP (``app.job_process``), one HTTP process or several: should it not come
    back after dying, an HTTP process runs them (``app.leader``). With one HTTP process that
    halved submit p50 under 50 clients in step and cost no start-up time (docs/scaling.md)."""
    import uvicorn

    jobs_apart = settings.queue != "celery"
    if not jobs_apart and workers == 1:
        uvicorn.run(create_app(settings), host=host, port=port, **uvicorn_options)
        return
    import multiprocessing
    import shutil

    from uvicorn import _subprocess

    from app.job_process import GRACE_S, JobProcess
    from app.metrics import use_multiprocess

    fork = multiprocessing.get_context("fork")
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    # The schema once, before the processes start and race to migrate it; in a child of its own, so
    # that this process, which the others fork from, never opens the database (SQLite's state must
    # not cross a fork).
    migrate = fork.Process(target=ensure_schema, args=(settings.resolved_database_url(),), name="migrate")
    migrate.start()
    migrate.join()
    if migrate.exitcode:
        raise SystemExit(f"the job store could not be migrated (exit code {migrate.exitcode}); see the log above")
    folder = use_multiprocess()
    jobs: JobProcess | None = None
    if jobs_apart:
        # Forked before uvicorn starts any thread here; it holds the leader lock before the HTTP
        # processes start, and they leave a lock they find free to its successor for a while.
        jobs = JobProcess(settings)
        jobs.start()
        grace = settings.leader_grace_s or GRACE_S
        os.environ["LESSONLENS_LEADER_GRACE_S"] = str(grace)
        settings = settings.model_copy(update={"leader_grace_s": grace})
    try:
        if workers == 1:  # this process answers HTTP (its metrics made after use_multiprocess)
            # uvicorn raises the signal that stopped it again once it has shut down; SIGTERM's
            # default would end this process there, before the ``finally`` stops the job process.
            signal.signal(signal.SIGTERM, _exit_quietly)
            uvicorn.run(create_app(settings), host=host, port=port, **uvicorn_options)
        else:
            # The HTTP processes fork from this one, which has imported the app and started no
            # thread: each is serving in a fraction of the time a new interpreter takes to import
            # it (uvicorn spawns). A busy process may answer uvicorn's liveness ping late (5 s by
            # default) without being hung; the supervisor checks its processes one after another,
            # so the timeout also bounds how late a dead process is replaced.
            _subprocess.spawn = fork  # type: ignore[assignment]
            _build_models()  # once here, not in each process
            _serve_processes(host, port, workers, {"timeout_worker_healthcheck": 10, **uvicorn_options})
    finally:
        if jobs is not None:
            jobs.stop()
        shutil.rmtree(folder, ignore_errors=True)
