"""OTLP export through the OpenTelemetry SDK's exporters: spans to ``otlp_traces_endpoints``,
the ``dbos`` logger's records to ``otlp_logs_endpoints``, metrics to
``otlp_metrics_endpoints`` (all OTLP over HTTP, protobuf).

As in DBOS Transact, an app that set its own global tracer (or logger, meter) provider keeps
it: the exporters are added to it where the SDK allows, else a provider named after the app
(``service.name``) is set up. Imported only when ``enable_otlp`` is set."""

from __future__ import annotations

import logging
from collections.abc import Callable

from opentelemetry import metrics, trace
from opentelemetry.sdk.resources import SERVICE_NAME, Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor

from ._observability_config import ObservabilitySettings

logger = logging.getLogger("dbos")

#: Seconds between two exports of the metrics (the SDK's periodic reader).
METRICS_EXPORT_INTERVAL_S = 10.0


def _resource(app_name: str) -> Resource:
    return Resource.create({SERVICE_NAME: app_name})


def export_traces(settings: ObservabilitySettings, app_name: str) -> Callable[[], None]:
    """Add a batching OTLP exporter per traces endpoint; returns a flush for shutdown."""
    if not settings.traces_endpoints:
        return lambda: None
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    provider = trace.get_tracer_provider()
    if isinstance(provider, trace.ProxyTracerProvider):
        provider = TracerProvider(resource=_resource(app_name))
        trace.set_tracer_provider(provider)
    if not isinstance(provider, TracerProvider):
        logger.warning(
            "the global tracer provider is a %s, not the SDK's: otlp_traces_endpoints are not "
            "used (add the exporters to your provider instead)",
            type(provider).__name__,
        )
        return lambda: None
    processors = [
        BatchSpanProcessor(OTLPSpanExporter(endpoint=url)) for url in settings.traces_endpoints
    ]
    for processor in processors:
        provider.add_span_processor(processor)

    def flush() -> None:
        for processor in processors:
            processor.force_flush()

    return flush


def export_logs(settings: ObservabilitySettings, app_name: str) -> Callable[[], None]:
    """Send the ``dbos`` logger's records (and the app's through ``DBOS.logger``) to each logs
    endpoint, with their trace context; returns what removes the handler again."""
    if not settings.logs_endpoints:
        return lambda: None
    from opentelemetry._logs import get_logger_provider, set_logger_provider
    from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter
    from opentelemetry.sdk._logs import LoggerProvider, LoggingHandler
    from opentelemetry.sdk._logs.export import BatchLogRecordProcessor

    provider = get_logger_provider()
    if not isinstance(provider, LoggerProvider):
        provider = LoggerProvider(resource=_resource(app_name))
        set_logger_provider(provider)
    processors = [
        BatchLogRecordProcessor(OTLPLogExporter(endpoint=url)) for url in settings.logs_endpoints
    ]
    for processor in processors:
        provider.add_log_record_processor(processor)
    handler = LoggingHandler(logger_provider=provider)
    if settings.otlp_log_level is not None:
        handler.setLevel(settings.otlp_log_level)
    dbos_logger = logging.getLogger("dbos")
    dbos_logger.addHandler(handler)

    def remove() -> None:
        dbos_logger.removeHandler(handler)
        for processor in processors:
            processor.force_flush()
            processor.shutdown()  # type: ignore[no-untyped-call]

    return remove


def export_metrics(settings: ObservabilitySettings, app_name: str) -> Callable[[], None]:
    """Export the global meter provider's metrics to each metrics endpoint every
    `METRICS_EXPORT_INTERVAL_S` seconds; returns a flush for shutdown."""
    if not settings.metrics_endpoints:
        return lambda: None
    from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader

    if isinstance(metrics.get_meter_provider(), MeterProvider):
        logger.warning(
            "a global meter provider is set already: otlp_metrics_endpoints are not used (an "
            "SDK meter provider takes its readers when it is made; add the exporter there)"
        )
        return lambda: None
    readers = [
        PeriodicExportingMetricReader(
            OTLPMetricExporter(endpoint=url),
            export_interval_millis=METRICS_EXPORT_INTERVAL_S * 1000,
        )
        for url in settings.metrics_endpoints
    ]
    provider = MeterProvider(resource=_resource(app_name), metric_readers=readers)
    metrics.set_meter_provider(provider)

    def flush() -> None:
        provider.force_flush()

    return flush
