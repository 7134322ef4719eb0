"""Step options and queues by name, in one process.

Run it with ``python examples/step_options.py``. It uses the embedded SQLite default (a file in
a temporary folder) unless DBOS_SYSTEM_DATABASE_URL names another system database.

- ``quote_service`` is an async step with a timeout: its first attempt hangs, is cancelled
  after 0.5 s with `DBOSStepTimeoutError`, and is retried (``should_retry`` retries timeouts
  and connection errors, not a bad symbol, which fails at once).
- ``DBOS.run_step`` checkpoints a plain library function as a step; ``DBOS.reserve_step``
  draws step IDs before gathering tasks, so they keep their IDs whichever finishes first.
- The workflow is enqueued by queue name (``DBOS.enqueue_workflow``) and by workflow name
  only (``DBOS.enqueue_workflow_with_options``), as another service would.
"""

from __future__ import annotations

import asyncio
import os
import tempfile
from pathlib import Path

from dbos import DBOS, DBOSStepTimeoutError, SetWorkflowID

attempts: dict[str, int] = {}


def transient(exc: BaseException) -> bool:
    """Retry what may go away: a timeout or a dropped connection; not a bad request."""
    return isinstance(exc, (DBOSStepTimeoutError, ConnectionError))


@DBOS.step(
    retries_allowed=True,
    interval_seconds=0.1,
    max_attempts=3,
    timeout_seconds=0.5,
    should_retry=transient,
)
async def quote_service(symbol: str) -> float:
    if not symbol.isalpha():
        raise ValueError(f"bad symbol {symbol!r}")
    attempts[symbol] = attempts.get(symbol, 0) + 1
    status = DBOS.step_status
    assert status is not None
    assert status.current_attempt is not None  # set for a step that allows retries
    print(f"  quote {symbol}: attempt {status.current_attempt + 1} of {status.max_attempts}")
    if attempts[symbol] == 1:
        await asyncio.sleep(10)  # the service hangs: the timeout cancels this attempt
    return float(len(symbol) * 10)


def format_price(symbol: str, price: float) -> str:
    """A plain library function, checkpointed with DBOS.run_step."""
    return f"{symbol} {price:.2f}"


async def exchange_rate(currency: str) -> float:
    await asyncio.sleep(0.1 if currency == "EUR" else 0.01)
    return {"EUR": 0.9, "GBP": 0.8}[currency]


@DBOS.workflow(name="fetch_quote")
async def fetch_quote(symbol: str) -> str:
    price = await quote_service(symbol)
    line = await DBOS.run_step_async({"name": "format"}, format_price, symbol, price)
    reservations = [DBOS.reserve_step() for _ in ("EUR", "GBP")]
    eur, gbp = await asyncio.gather(
        reservations[0].run_async({"name": "rate-EUR"}, exchange_rate, "EUR"),
        reservations[1].run_async({"name": "rate-GBP"}, exchange_rate, "GBP"),
    )
    return f"{line} (EUR {price * eur:.2f}, GBP {price * gbp:.2f})"


def main() -> None:
    folder = Path(tempfile.mkdtemp(prefix="dbos-step-options-"))
    url = os.environ.get("DBOS_SYSTEM_DATABASE_URL", f"sqlite:///{folder}/dbos.sqlite")
    DBOS(config={"name": "step-options-example", "system_database_url": url})
    DBOS.register_queue("quotes", global_concurrency=2)
    DBOS.launch()
    try:
        print("1. enqueue by queue name")
        with SetWorkflowID("quote-ACME"):
            handle = DBOS.enqueue_workflow("quotes", fetch_quote, "ACME")
        print(f"  result: {handle.get_result()}")
        steps = [step["function_name"] for step in DBOS.list_workflow_steps("quote-ACME")]
        print(f"  steps: {', '.join(steps)}")

        print("2. enqueue by workflow name, as another service would")
        by_name = DBOS.enqueue_workflow_with_options(
            {"workflow_name": "fetch_quote", "queue_name": "quotes"}, "XYZ"
        )
        print(f"  result: {by_name.get_result()}")

        print("3. a bad symbol is not retried")
        bad = DBOS.enqueue_workflow("quotes", fetch_quote, "X-1")
        try:
            bad.get_result()
        except ValueError as exc:
            print(f"  failed at once: {exc}")
    finally:
        DBOS.destroy()


if __name__ == "__main__":
    main()
