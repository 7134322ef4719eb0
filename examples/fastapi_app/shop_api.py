"""A FastAPI shop whose orders are DBOS workflows, traced with OpenTelemetry.

Run it with ``uvicorn shop_api:app`` from this folder (see README.md): it needs
``pip install 'dbos-core[otel]' fastapi uvicorn``. Settings come from the environment:

- ``DBOS_SYSTEM_DATABASE_URL``: the system database (default: an SQLite file,
  ``dbos-fastapi-example.sqlite`` in the temporary folder, printed at start);
- ``OTLP_ENDPOINT``: the OTLP/HTTP collector's base URL (default ``http://127.0.0.1:4318``);
  spans go to ``/v1/traces`` and the ``dbos`` logger's records to ``/v1/logs``.

Every request gets a server span (``POST /orders``, ...): FastAPI's own where it has built-in
OpenTelemetry (newer versions: it uses the tracer provider DBOS sets up), else one this app's
middleware starts. An order placed inside it is enqueued within ``PropagateOtelContext``, so
the queue worker's workflow span and its steps' spans join the request's trace, even when
another process of the app runs it.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI, HTTPException, Request, Response
from opentelemetry import trace

from dbos import DBOS, PropagateOtelContext, Queue
from dbos.storage import password_secrets

try:
    import fastapi.telemetry  # noqa: F401  (FastAPI traces its requests itself)

    FASTAPI_TRACES_REQUESTS = True
except ImportError:
    FASTAPI_TRACES_REQUESTS = False

orders = Queue("orders", concurrency=4)
tracer = trace.get_tracer("shop-api")


@DBOS.step()
def reserve_stock(item: str) -> str:
    DBOS.logger.info("reserving %s", item)  # exported with the step's trace and span IDs
    return f"reserved {item}"


@DBOS.step()
def charge_card(amount: int) -> str:
    if amount <= 0:
        raise ValueError(f"cannot charge {amount}")
    return f"charged {amount}"


@DBOS.workflow()
def place_order(item: str, amount: int) -> str:
    reserved = reserve_stock(item)
    DBOS.set_event("stage", "paying")
    charged = charge_card(amount)
    return f"{reserved}, {charged}"


def system_database_url() -> str:
    default = Path(tempfile.gettempdir()) / "dbos-fastapi-example.sqlite"
    return os.environ.get("DBOS_SYSTEM_DATABASE_URL", f"sqlite:///{default}")


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    url = system_database_url()
    collector = os.environ.get("OTLP_ENDPOINT", "http://127.0.0.1:4318").rstrip("/")
    DBOS(
        config={
            "name": "shop-api",
            "system_database_url": url,
            "enable_otlp": True,
            "otlp_traces_endpoints": [f"{collector}/v1/traces"],
            "otlp_logs_endpoints": [f"{collector}/v1/logs"],
            "otlp_attributes": {"deployment.environment": "example"},
        }
    )
    DBOS.launch()
    if not password_secrets(url):  # no password, or an empty one: nothing to hide
        print(f"dashboard: dbos ui --db-url {url}", flush=True)
    else:  # from DBOS_SYSTEM_DATABASE_URL, which `dbos ui` reads too; never print the password
        print("dashboard: dbos ui  # reads DBOS_SYSTEM_DATABASE_URL", flush=True)
    try:
        yield
    finally:
        DBOS.destroy()  # flushes the span and log exporters


app = FastAPI(title="shop-api", lifespan=lifespan)


async def request_span(
    request: Request, call_next: Callable[[Request], Awaitable[Response]]
) -> Response:
    """A span per request, named like an HTTP server span (method and path), for a FastAPI
    without built-in tracing; the endpoint, run in the thread pool, sees it as the current
    span (Starlette copies the context into the thread)."""
    with tracer.start_as_current_span(f"{request.method} {request.url.path}") as span:
        response = await call_next(request)
        span.set_attribute("http.response.status_code", response.status_code)
        return response


if not FASTAPI_TRACES_REQUESTS:
    app.middleware("http")(request_span)


@app.post("/orders")
def create_order(item: str, amount: int) -> dict[str, str]:
    """Enqueue an order; the reply names its workflow. Its trace continues in the worker."""
    with PropagateOtelContext():
        handle = orders.enqueue(place_order, item, amount)
    return {"workflow_id": handle.workflow_id}


@app.get("/orders/{workflow_id}")
def get_order(workflow_id: str, wait: bool = False) -> dict[str, Any]:
    """An order's status, and its result or error once it has one (``wait=true``: wait for
    it, up to 30 seconds)."""
    status = DBOS.get_workflow_status(workflow_id)
    if status is None:
        raise HTTPException(404, f"no order {workflow_id}")
    if wait:
        handle = DBOS.retrieve_workflow(workflow_id)
        with contextlib.suppress(Exception):  # an ERROR outcome is reported from the status
            handle.get_result(timeout_seconds=30)
        status = DBOS.get_workflow_status(workflow_id)
        assert status is not None
    reply: dict[str, Any] = {"workflow_id": workflow_id, "status": status.status}
    if status.status == "SUCCESS":
        reply["result"] = status.output
    elif status.error is not None:
        reply["error"] = str(status.error)
    return reply
