"""The admin HTTP server (``run_admin_server`` / ``admin_port``; off by default): a health
check for load balancers and orchestrators, and a JSON view of this process's state.

- ``GET /dbos-healthz`` (DBOS Transact's path): 200 ``{"status": "healthy"}`` when the system
  database answers and the background services (heartbeat, queue worker, scheduler) run with
  a fresh lease; else 503 ``{"status": "unhealthy", "reasons": [...]}``.
- ``GET /dbos-metrics`` (ours): the health, this process's identity, its lease, its active
  workflows, workflow counts by name and status, and queue depth and running tasks.

Served by the standard library's `ThreadingHTTPServer` in a daemon thread: two read-only
JSON routes need no framework, and the core package takes no dependency for them.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any

from ._engine.health import background_alive, background_failed, lease_age_s, lease_s

if TYPE_CHECKING:
    from ._engine.engine import Engine
    from ._metrics import MetricsPlugin
    from .plugins import Hooks

logger = logging.getLogger("dbos")

HEALTH_PATH = "/dbos-healthz"
METRICS_PATH = "/dbos-metrics"
#: The workflow ID the database probe looks up (none has it: the answer is None).
_PROBE_ID = "dbos-healthz-probe"


class AdminServer:
    """The admin server of one launched engine. `management_only`: the process runs no
    background services, so only the database is checked."""

    def __init__(
        self,
        engine: Engine,
        hooks: Hooks,
        metrics: MetricsPlugin,
        host: str,
        port: int,
        management_only: bool = False,
    ) -> None:
        self._engine = engine
        self._hooks = hooks
        self._metrics = metrics
        self._management_only = management_only
        admin = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                admin._serve(self)

            def do_HEAD(self) -> None:  # a probe that asks for the status only
                admin._serve(self, with_body=False)

            def _refuse(self) -> None:  # read-only: a JSON 405, not the library's HTML 501
                admin._reply(self, 405, {"error": f"{self.command} not allowed: GET only"})

            do_POST = do_PUT = do_PATCH = do_DELETE = _refuse

            def log_message(self, format: str, *args: Any) -> None:
                logger.debug("admin server: " + format, *args)

        self._server = ThreadingHTTPServer((host, port), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="dbos-admin-server", daemon=True
        )

    @property
    def address(self) -> tuple[str, int]:
        """The bound address: (host, port), the port chosen by the system for port 0."""
        host, port = self._server.server_address[:2]
        return str(host), int(port)

    def start(self) -> None:
        """Serve in a daemon thread."""
        self._thread.start()
        logger.info("admin server listening on http://%s:%d", *self.address)

    def stop(self) -> None:
        """Stop serving and close the socket."""
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    # --- answers ----------------------------------------------------------------------------

    def _probe_database(self) -> str | None:
        """None if the system database answers one lookup now (no retries: a health check
        reports an outage rather than waiting it out), else why not. Announced to the
        storage-call hooks as ``get_workflow``, so fault injection reaches it."""
        storage = self._engine.storage
        backend = getattr(storage, "backend", storage)  # past the retrying wrapper
        try:
            self._hooks.storage_call("get_workflow", 1)
            backend.get_workflow(_PROBE_ID)
            self._hooks.storage_call_done("get_workflow", 1)
        except Exception as exc:
            return f"system database unreachable: {type(exc).__name__}: {exc}"
        return None

    def health(self) -> tuple[bool, list[str]]:
        """Whether this process is healthy, and the reasons it is not."""
        reasons = []
        problem = self._probe_database()
        if problem is not None:
            reasons.append(problem)
        if not self._management_only:
            if background_failed(self._engine):
                reasons.append("the background services stopped after a fatal error")
            for service, alive in background_alive(self._engine).items():
                if not alive:
                    reasons.append(f"the {service} thread is not running")
            age = lease_age_s(self._engine)
            if age is None:
                reasons.append("this process holds no lease yet")
            elif age > lease_s(self._engine):
                reasons.append(f"the lease was last renewed {age:.1f} s ago (heartbeat stalled)")
        return not reasons, reasons

    def view(self) -> dict[str, Any]:
        """The JSON view: health, identity, lease, counts, queues."""
        healthy, reasons = self.health()
        engine = self._engine
        view: dict[str, Any] = {
            "status": "healthy" if healthy else "unhealthy",
            "reasons": reasons,
            "executor_id": engine.executor_id,
            "application_version": engine.application_version,
            "instance_id": engine.instance_id,
            "management_only": self._management_only,
            "background": background_alive(engine),
            "lease_age_s": lease_age_s(engine),
            "active_workflows": engine.active_count(),
            "time_ms": int(time.time() * 1000),
            **self._metrics.snapshot(),
        }
        try:
            view["queues"] = self._metrics.queues()
        except Exception as exc:
            view["queues"] = None
            view["queues_error"] = f"{type(exc).__name__}: {exc}"
        return view

    def _serve(self, request: BaseHTTPRequestHandler, with_body: bool = True) -> None:
        path = request.path.split("?", 1)[0]
        if path == HEALTH_PATH:
            healthy, reasons = self.health()
            if healthy:
                self._reply(request, 200, {"status": "healthy"}, with_body)
            else:
                body = {"status": "unhealthy", "reasons": reasons}
                self._reply(request, 503, body, with_body)
        elif path == METRICS_PATH:
            self._reply(request, 200, self.view(), with_body)
        else:
            self._reply(request, 404, {"error": f"no such path: {path}"}, with_body)

    @staticmethod
    def _reply(
        request: BaseHTTPRequestHandler, code: int, body: dict[str, Any], with_body: bool = True
    ) -> None:
        data = json.dumps(body).encode()
        request.send_response(code)
        request.send_header("Content-Type", "application/json")
        request.send_header("Content-Length", str(len(data)))
        if code == 405:
            request.send_header("Allow", "GET, HEAD")
        request.end_headers()
        if with_body:
            request.wfile.write(data)
