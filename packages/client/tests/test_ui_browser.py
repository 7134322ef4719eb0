"""The dashboard in a real browser: Playwright driving Debian's Chromium headless (never a
downloaded browser), on every backend. Skips when Playwright or Chromium is missing, unless
DBOS_REQUIRE_BROWSER=1 (CI), where a missing browser fails the run.

Screenshots are kept as test artifacts under the test's temporary folder; with
DBOS_UI_SCREENSHOTS=<folder> they are also written there (docs/images for the operations
guide)."""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from dbos import DBOS, Queue, SetEnqueueOptions, SetWorkflowID, WorkflowHandle

from .conftest import StartUI, UIServer

Launch = Callable[..., None]
CHROMIUM = os.environ.get("DBOS_CHROMIUM", "/usr/bin/chromium")


def _missing() -> str | None:
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the playwright package is not installed (pip install playwright)"
    try:
        import starlette  # noqa: F401
    except ImportError:
        return "the dbos-client[ui] extra is not installed"
    if not shutil.which(CHROMIUM):
        return f"no Chromium at {CHROMIUM} (apt-get install chromium)"
    return None


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    missing = _missing()
    if missing is not None:
        if os.environ.get("DBOS_REQUIRE_BROWSER") == "1":
            pytest.fail(f"DBOS_REQUIRE_BROWSER=1 but {missing}")
        pytest.skip(missing)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, headless=True)
        yield launched
        launched.close()


@pytest.fixture
def shoot(tmp_path: Path) -> Callable[[Any, str], Path]:
    """Save a screenshot of `page` as `<name>.png` in the test's folder (and in
    $DBOS_UI_SCREENSHOTS when set)."""

    def _shoot(page: Any, name: str) -> Path:
        path = tmp_path / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        extra = os.environ.get("DBOS_UI_SCREENSHOTS")
        if extra:
            Path(extra).mkdir(parents=True, exist_ok=True)
            shutil.copy(path, Path(extra) / path.name)
        assert path.stat().st_size > 1000
        return path

    return _shoot


@DBOS.step()
def ui_browser_fetch(order: int) -> dict[str, int]:
    return {"order": order, "items": 3}


@DBOS.step()
def ui_browser_charge(order: int) -> str:
    time.sleep(0.05)
    return f"charged order {order}"


@DBOS.workflow()
def ui_browser_checkout(order: int) -> str:
    ui_browser_fetch(order)
    DBOS.set_event("stage", "charging")
    ui_browser_charge(order)
    DBOS.write_stream("log", "charged")
    return f"order {order} done"


@DBOS.workflow()
def ui_browser_echo(text: str) -> str:
    return text


@DBOS.workflow()
def ui_browser_waiter() -> object:
    return DBOS.recv("go", timeout_seconds=120)


@pytest.fixture
def app(launch: Launch) -> None:
    launch()
    for order in (1, 2):
        with SetWorkflowID(f"checkout-{order}"):
            ui_browser_checkout(order)


def _waiter(workflow_id: str) -> WorkflowHandle[object]:
    with SetWorkflowID(workflow_id):
        handle = DBOS.start_workflow(ui_browser_waiter)
    deadline = time.monotonic() + 30
    while handle.get_status().status != "PENDING":
        assert time.monotonic() < deadline
        time.sleep(0.05)
    return handle


def _page(browser: Any, server: UIServer) -> Any:
    context = browser.new_context(base_url=server.base, viewport={"width": 1280, "height": 800})
    context.set_default_timeout(15_000)
    return context.new_page()


def test_list_filter_open_and_cancel(
    app: None, browser: Any, ui_server: StartUI, shoot: Callable[[Any, str], Path]
) -> None:
    from playwright.sync_api import expect

    handle = _waiter("waiting-for-approval")
    server = ui_server()
    page = _page(browser, server)
    page.goto("/workflows")
    rows = page.locator("#workflow-table tbody tr[data-workflow-id]")
    expect(rows).to_have_count(3)
    expect(page.locator('b[data-status="SUCCESS"]')).to_have_text("2")
    shoot(page, "dashboard-workflows")

    # Filter: status, then an ID prefix, through the form.
    page.select_option("select[name=status]", "PENDING")
    page.click("#filters button[type=submit]")
    expect(rows).to_have_count(1)
    expect(rows.first).to_have_attribute("data-workflow-id", "waiting-for-approval")
    page.goto("/workflows")
    page.fill("input[name=prefix]", "checkout-2")
    page.click("#filters button[type=submit]")
    expect(rows).to_have_count(1)

    # Open a workflow and see its steps (and its event; its stream on request).
    page.click("a:text('checkout-2')")
    expect(page.locator("#workflow-status")).to_have_text("SUCCESS")
    steps = page.locator("#steps tbody tr[data-step]")
    expect(steps).to_have_count(4)
    expect(steps.nth(0)).to_contain_text("ui_browser_fetch")
    expect(steps.nth(2)).to_contain_text("ui_browser_charge")
    expect(page.locator("#output")).to_contain_text("order 2 done")
    expect(page.locator("#events")).to_contain_text("charging")
    page.fill("input[name=key]", "log")
    page.click("text=Read")
    expect(page.locator("#stream")).to_contain_text("charged")
    shoot(page, "dashboard-workflow")

    # Cancel the waiting one, through the confirmation page; its status changes on the page.
    page.goto("/workflows/waiting-for-approval")
    expect(page.locator("#workflow-status")).to_have_text("PENDING")
    page.click("#action-cancel")
    expect(page.locator("#confirm")).to_be_visible()
    shoot(page, "dashboard-confirm")
    page.click("#confirm")
    expect(page.locator("#notice")).to_have_text("cancelled")
    expect(page.locator("#workflow-status")).to_have_text("CANCELLED")
    assert handle.get_status().status == "CANCELLED"


def test_live_update_without_reload(app: None, browser: Any, ui_server: StartUI) -> None:
    from playwright.sync_api import expect

    handle = _waiter("live-one")
    server = ui_server()
    page = _page(browser, server)
    page.goto("/workflows/live-one")
    expect(page.locator("#workflow-status")).to_have_text("PENDING")
    DBOS.send(handle.workflow_id, "approved", "go")
    handle.get_result()
    # No navigation: htmx polling brings the new status in.
    expect(page.locator("#workflow-status")).to_have_text("SUCCESS", timeout=20_000)
    page.goto("/workflows")
    expect(page.locator('b[data-status="PENDING"]')).to_have_text("0")
    _waiter("live-two")
    expect(page.locator('b[data-status="PENDING"]')).to_have_text("1", timeout=20_000)


def test_token_refusal_and_login(
    app: None, browser: Any, ui_server: StartUI, shoot: Callable[[Any, str], Path]
) -> None:
    from playwright.sync_api import expect

    handle = _waiter("needs-token")
    server = ui_server(host="0.0.0.0", token="browser-token")
    page = _page(browser, server)
    page.goto("/workflows/needs-token")
    expect(page.locator("#workflow-status")).to_have_text("PENDING")
    expect(page.locator("#actions")).to_have_count(0)
    page.goto("/workflows/needs-token/confirm/cancel")
    expect(page.locator("#message")).to_contain_text("token is required")
    page.goto("/login")
    page.fill("input[name=token]", "wrong")
    page.click("#login-form button")
    expect(page.locator("#login-failed")).to_be_visible()
    page.fill("input[name=token]", "browser-token")
    page.click("#login-form button")
    page.goto("/workflows/needs-token")
    page.click("#action-cancel")
    page.click("#confirm")
    expect(page.locator("#workflow-status")).to_have_text("CANCELLED")
    assert handle.get_status().status == "CANCELLED"


def test_read_only(
    app: None, browser: Any, ui_server: StartUI, shoot: Callable[[Any, str], Path]
) -> None:
    from playwright.sync_api import expect

    _waiter("read-only-one")
    server = ui_server(read_only=True)
    page = _page(browser, server)
    page.goto("/workflows/read-only-one")
    expect(page.locator("#workflow-status")).to_have_text("PENDING")
    expect(page.locator("#actions")).to_have_count(0)
    expect(page.locator("header")).to_contain_text("read-only")
    page.goto("/workflows/read-only-one/confirm/cancel")
    expect(page.locator("#message")).to_contain_text("read-only")
    page.goto("/executors")
    expect(page.locator("#executors")).to_contain_text("live")
    shoot(page, "dashboard-executors")


def test_queue_settings_and_load(
    app: None, browser: Any, ui_server: StartUI, shoot: Callable[[Any, str], Path]
) -> None:
    """The queues page shows each queue's stored settings (issue 15), its rate-limit state
    and partition load, and a setting changed through the API reaches the page without a
    reload."""
    from playwright.sync_api import expect

    rated = Queue(
        "ui-rated",
        concurrency=3,
        worker_concurrency=2,
        limiter={"limit": 5, "period": 600},
        polling_interval_sec=0.1,
    )
    parted = Queue(
        "ui-parted",
        partition_concurrency=1,
        partition_limiter={"limit": 2, "period": 30},
        priority_enabled=True,
        polling_interval_sec=0.1,
    )
    for number in (1, 2):
        assert rated.enqueue(ui_browser_echo, f"task {number}").get_result() == f"task {number}"
    # One partition at its limit of 1: one task runs (waiting for a message), one waits.
    with SetEnqueueOptions(queue_partition_key="tenant-a"):
        running = parted.enqueue(ui_browser_waiter)
        parted.enqueue(ui_browser_waiter)
    deadline = time.monotonic() + 30
    while running.get_status().status != "PENDING":
        assert time.monotonic() < deadline
        time.sleep(0.05)
    server = ui_server()
    page = _page(browser, server)
    page.goto("/queues")
    rated_row = page.locator('tr[data-queue="ui-rated"]')
    expect(rated_row.locator('[data-setting="concurrency"]')).to_have_text("concurrency: 3")
    expect(rated_row.locator('[data-setting="worker_concurrency"]')).to_have_text("per process: 2")
    expect(rated_row.locator('[data-setting="limiter"]')).to_have_text("rate limit: 5 per 600s")
    expect(rated_row.locator('[data-setting="polling_interval_sec"]')).to_have_text(
        "polling interval: 0.1s"
    )
    expect(rated_row.locator("[data-rate]")).to_have_text("2 of 5")
    parted_row = page.locator('tr[data-queue="ui-parted"]')
    expect(parted_row.locator('[data-setting="partition_queue"]')).to_have_text("partitioned: yes")
    expect(parted_row.locator('[data-setting="partition_concurrency"]')).to_have_text(
        "per partition: 1"
    )
    expect(parted_row.locator('[data-setting="partition_limiter"]')).to_have_text(
        "partition rate limit: 2 per 30s"
    )
    expect(parted_row.locator('[data-setting="priority_enabled"]')).to_have_text("priority: on")
    expect(parted_row.locator('[data-setting="concurrency"]')).to_have_count(0)
    expect(parted_row.locator(".partition")).to_have_text("tenant-a: 1 / 1")
    shoot(page, "dashboard-queues")
    # Changed for every process through the stored settings: the polled table follows.
    rated.set_concurrency(7)
    expect(rated_row.locator('[data-setting="concurrency"]')).to_have_text("concurrency: 7")


def test_escaped_in_the_browser(app: None, browser: Any, ui_server: StartUI) -> None:
    from playwright.sync_api import expect

    payload = "<img src=x onerror=\"document.title='pwned'\">"
    with SetWorkflowID("xss-input"):
        ui_browser_echo(payload)
    server = ui_server()
    page = _page(browser, server)
    page.goto("/workflows/xss-input")
    expect(page.locator("#inputs")).to_contain_text(payload.replace('"', '\\"'))
    expect(page.locator("#output")).to_contain_text("onerror")
    page.goto("/workflows?name=" + payload)
    expect(page.locator("input[name=name]")).to_have_value(payload)
    assert page.title() != "pwned"
    assert page.locator("img").count() == 0
