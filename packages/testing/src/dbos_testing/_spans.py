"""Catch OpenTelemetry spans in memory, for tests of traced code (ours; DBOS Transact 3.4 has no
testing package).

OpenTelemetry lets a process set its global tracer provider only once, so there is one catcher
per process: an in-memory exporter added once to the global SDK provider (set up here if no SDK
provider is set yet). DBOS's spans go to the global provider when ``enable_otlp`` is set, so the
catcher sees them; so does any span started from ``opentelemetry.trace.get_tracer(...)``.

The OpenTelemetry SDK (``pip install 'dbos-core[otel]'``) is imported only when a catcher is
first asked for, so importing ``dbos_testing`` costs nothing without it.
"""

from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING

from dbos.plugins import install_hint

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import ReadableSpan
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

#: Seconds with no newly finished span after which the spans count as settled.
QUIET_S = 0.2
#: Seconds `SpanCatcher.settled` waits at most for the spans to settle.
SETTLE_TIMEOUT_S = 5.0

_lock = threading.Lock()
_catcher: SpanCatcher | None = None


class SpanCatcher:
    """The finished spans of the process's global SDK tracer provider, kept in memory.

    Get it from the ``dbos_spans`` fixture (cleared before and after each test) or from
    `span_catcher`. Calling it is `settled`: ``found = dbos_spans()``.
    """

    def __init__(self, exporter: InMemorySpanExporter) -> None:
        self._exporter = exporter

    def finished(self) -> list[ReadableSpan]:
        """The spans finished so far, oldest first, without waiting."""
        return list(self._exporter.get_finished_spans())

    def settled(
        self, *, quiet_s: float = QUIET_S, timeout_s: float = SETTLE_TIMEOUT_S
    ) -> list[ReadableSpan]:
        """The finished spans, once none has finished for `quiet_s` seconds (waiting at most
        `timeout_s` seconds, then the spans so far). A workflow's span ends just after its
        outcome is stored, so a caller's ``get_result`` can return before the span is here.

        Raises:
            ValueError: `quiet_s` is not positive or `timeout_s` is negative.
        """
        if quiet_s <= 0:
            raise ValueError(f"quiet_s must be positive, got {quiet_s!r}")
        if timeout_s < 0:
            raise ValueError(f"timeout_s must not be negative, got {timeout_s!r}")
        deadline = time.monotonic() + timeout_s
        found = self.finished()
        while time.monotonic() < deadline:
            time.sleep(quiet_s)
            again = self.finished()
            if len(again) == len(found):
                return again
            found = again
        return found

    def __call__(self) -> list[ReadableSpan]:
        """`settled` with its defaults."""
        return self.settled()

    def clear(self) -> None:
        """Forget the spans finished so far."""
        self._exporter.clear()


def span_catcher() -> SpanCatcher:
    """The process's `SpanCatcher`, installed on the global tracer provider on first use.

    Raises:
        ModuleNotFoundError: the OpenTelemetry SDK is not installed (the message says what to
            install).
        RuntimeError: the global tracer provider is not the SDK's (an app set another kind),
            so spans cannot be caught from it.
    """
    global _catcher
    with _lock:
        if _catcher is None:
            _catcher = _install()
        return _catcher


def _install() -> SpanCatcher:
    try:
        from opentelemetry import trace
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import SimpleSpanProcessor
        from opentelemetry.sdk.trace.export.in_memory_span_exporter import (
            InMemorySpanExporter,
        )
    except ModuleNotFoundError as exc:
        raise ModuleNotFoundError(
            "catching spans needs the OpenTelemetry SDK, which is not installed: "
            + install_hint("dbos-core[otel]"),
            name=exc.name,
        ) from exc
    provider = trace.get_tracer_provider()
    if isinstance(provider, trace.ProxyTracerProvider):
        trace.set_tracer_provider(TracerProvider())
        provider = trace.get_tracer_provider()
    if not isinstance(provider, TracerProvider):
        raise RuntimeError(
            f"the global tracer provider is a {type(provider).__name__}, not the "
            "OpenTelemetry SDK's TracerProvider: spans cannot be caught from it"
        )
    exporter = InMemorySpanExporter()
    # Simple (not batching): a span is in the exporter as soon as it ends.
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return SpanCatcher(exporter)
