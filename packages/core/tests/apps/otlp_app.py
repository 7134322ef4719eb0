"""An app that exports traces, logs and metrics over OTLP/HTTP, for the OTLP export test.

Usage: python otlp_app.py DATABASE_URL COLLECTOR_URL

Runs one workflow with a step, logs a line inside it, and shuts down (which flushes the
exporters)."""

from __future__ import annotations

import sys

from dbos import DBOS

URL, COLLECTOR = sys.argv[1], sys.argv[2].rstrip("/")


@DBOS.step(name="otlp_app.greet")
def greet(name: str) -> str:
    DBOS.logger.warning("greeting %s", name)
    return f"hello {name}"


@DBOS.workflow(name="otlp_app.hello")
def hello(name: str) -> str:
    return greet(name)


if __name__ == "__main__":
    DBOS(
        config={
            "name": "otlp-app",
            "system_database_url": URL,
            "enable_otlp": True,
            "otlp_traces_endpoints": [f"{COLLECTOR}/v1/traces"],
            "otlp_logs_endpoints": [f"{COLLECTOR}/v1/logs"],
            "otlp_metrics_endpoints": [f"{COLLECTOR}/v1/metrics"],
            "otlp_attributes": {"deployment.environment": "test"},
        }
    )
    DBOS.launch()
    assert hello("otlp") == "hello otlp"
    DBOS.destroy()
