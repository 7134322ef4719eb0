"""The dashboard over plain HTTP, served by a real uvicorn on every backend: pages, filters,
escaping of user data, and who may act (token, read-only, origin and Host rules)."""

from __future__ import annotations

import http.client
import os
import re
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, urlencode

import pytest

from dbos import DBOS, DBOSNonExistentWorkflowError, SetWorkflowID, WorkflowHandle

from .conftest import StartUI, UIServer

Launch = Callable[..., None]
XSS = "<script>alert('xss')</script>"


@DBOS.step()
def ui_http_double(x: int) -> int:
    return x * 2


@DBOS.workflow()
def ui_http_flow(text: str) -> str:
    ui_http_double(1)
    ui_http_double(2)
    DBOS.set_event("progress", text)
    return text


@DBOS.workflow()
def ui_http_waiter() -> object:
    return DBOS.recv("go", timeout_seconds=120)


@DBOS.workflow()
def ui_http_fails() -> None:
    raise ValueError(f"boom {XSS}")


@DBOS.step()
def ui_http_lookup() -> None:
    DBOS.retrieve_workflow("ui-http-nowhere")  # raises DBOSNonExistentWorkflowError


@DBOS.workflow()
def ui_http_dbos_error() -> None:
    ui_http_lookup()


@dataclass
class Answer:
    status: int
    body: str
    headers: dict[str, str]


def request(
    server: UIServer,
    method: str,
    path: str,
    form: dict[str, str] | None = None,
    headers: dict[str, str] | None = None,
) -> Answer:
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    sent = {"Host": f"127.0.0.1:{server.port}", **(headers or {})}
    body = None
    if form is not None:
        body = urlencode(form)
        sent["Content-Type"] = "application/x-www-form-urlencoded"
    connection.request(method, path, body=body, headers=sent)
    response = connection.getresponse()
    answer = Answer(
        response.status,
        response.read().decode(),
        {key.lower(): value for key, value in response.getheaders()},
    )
    connection.close()
    return answer


def confirm(server: UIServer, workflow_id: str, action: str, **headers: str) -> Answer:
    return request(
        server, "POST", f"/workflows/{workflow_id}/{action}", {"confirm": "yes"}, headers
    )


@pytest.fixture
def app(launch: Launch) -> None:
    launch()
    with SetWorkflowID("ui-http-xss"):
        ui_http_flow(XSS)
    with SetWorkflowID("ui-http-plain"):
        ui_http_flow("plain")
    with SetWorkflowID("ui-http-fails"), pytest.raises(ValueError):
        ui_http_fails()


def start_waiter(workflow_id: str) -> WorkflowHandle[object]:
    with SetWorkflowID(workflow_id):
        return DBOS.start_workflow(ui_http_waiter)


def wait_status(workflow_id: str, status: str) -> None:
    deadline = time.monotonic() + 30
    while DBOS.get_workflow_status(workflow_id).status != status:  # type: ignore[union-attr]
        assert time.monotonic() < deadline, f"{workflow_id} never reached {status}"
        time.sleep(0.05)


def test_pages_list_filter_and_show_a_workflow(app: None, ui_server: StartUI) -> None:
    server = ui_server()
    page = request(server, "GET", "/workflows")
    assert page.status == 200
    for workflow_id in ("ui-http-xss", "ui-http-plain", "ui-http-fails"):
        assert f'data-workflow-id="{workflow_id}"' in page.body
    assert 'data-status="SUCCESS">2<' in page.body and 'data-status="ERROR">1<' in page.body
    errors = request(server, "GET", "/workflows?status=error").body
    assert "ui-http-fails" in errors and "ui-http-plain" not in errors
    by_prefix = request(server, "GET", "/workflows?prefix=ui-http-p").body
    assert "ui-http-plain" in by_prefix and "ui-http-xss" not in by_prefix
    by_name = request(server, "GET", "/workflows?name=ui_http_fails").body
    assert "ui-http-fails" in by_name and "ui-http-plain" not in by_name
    future = request(server, "GET", "/workflows?since=2999-01-01T00:00:00Z").body
    assert "No workflows match" in future
    bad = request(server, "GET", "/workflows?since=yesterday&attributes=[1]").body
    assert "since: expected an ISO 8601 time" in bad and "attributes: expected a JSON object" in bad
    details = request(server, "GET", "/workflows/ui-http-plain").body
    assert 'id="workflow-status">SUCCESS<' in details
    assert details.count('<tr data-step="') == 3 and "ui_http_double" in details
    assert "progress" in details  # its event
    failed = request(server, "GET", "/workflows/ui-http-fails").body
    assert "ValueError" in failed and 'id="traceback"' in failed
    assert request(server, "GET", "/workflows/no-such-id").status == 404
    for path in ("/queues", "/schedules", "/executors"):
        assert request(server, "GET", path).status == 200
    # A launched process holds a lease: the executors page shows it, live.
    assert "live" in request(server, "GET", "/executors").body


def test_queues_page_tells_the_internal_queue_from_an_undeclared_one(
    app: None, ui_server: StartUI
) -> None:
    # A fork waits on DBOS's internal queue (never stored); a task enqueued by name on a
    # queue no process declares has no stored row either. Only the second waits for one.
    start_waiter("ui-http-int-src")
    wait_status("ui-http-int-src", "PENDING")
    fork = DBOS.fork_workflow("ui-http-int-src", 1)
    wait_status(fork.workflow_id, "PENDING")
    DBOS.enqueue_workflow("ui-http-undeclared", ui_http_flow, "later")
    server = ui_server()
    body = request(server, "GET", "/queues").body
    rows = dict(re.findall(r'<tr data-queue="([^"]+)">(.*?)</tr>', body, re.DOTALL))
    internal = rows["dbos.internal"]
    assert "data-internal" in internal and "every process works on it" in internal
    assert "not stored" not in internal
    undeclared = rows["ui-http-undeclared"]
    assert "data-not-stored" in undeclared and "wait until a process declares it" in undeclared
    for workflow_id in ("ui-http-int-src", fork.workflow_id):
        DBOS.send(workflow_id, "done", "go")


@DBOS.workflow()
def ui_http_scheduled(scheduled_time: object, context: object) -> None:
    pass


def test_schedules_page_shows_stored_schedules_and_their_runs(
    app: None, ui_server: StartUI
) -> None:
    DBOS.create_schedule(
        schedule_name="ui-nightly",
        workflow_fn=ui_http_scheduled,
        schedule="0 3 * * *",
        cron_timezone="Europe/Paris",
    )
    DBOS.pause_schedule("ui-nightly")
    DBOS.create_schedule(
        schedule_name="ui-triggered", workflow_fn=ui_http_scheduled, schedule="0 0 1 1 *"
    )
    handle = DBOS.trigger_schedule("ui-triggered")
    handle.get_result()
    server = ui_server()
    body = request(server, "GET", "/schedules").body

    def row(name: str) -> str:
        return body.partition(f'<tr data-schedule="{name}">')[2].partition("</tr>")[0]

    nightly = row("ui-nightly")  # stored, never run: shown all the same
    assert "<code>0 3 * * *</code> (Europe/Paris)" in nightly
    assert '<td class="schedule-status">PAUSED</td>' in nightly
    assert "<td>never</td>\n<td>0</td>" in nightly
    triggered = row("ui-triggered")
    assert '<td class="schedule-status">ACTIVE</td>' in triggered
    assert "<td>1</td>" in triggered
    assert f"/workflows/{quote(handle.workflow_id, safe='')}" in triggered
    assert ">SUCCESS<" in triggered
    # The rows refresh without a reload: the page polls its fragment, which shows a new run.
    assert 'hx-get="/schedules?fragment=1"' in body
    DBOS.trigger_schedule("ui-triggered").get_result()
    fragment = request(server, "GET", "/schedules?fragment=1").body
    assert fragment.lstrip().startswith('<table id="schedules">') and "<html" not in fragment
    again = fragment.partition('<tr data-schedule="ui-triggered">')[2].partition("</tr>")[0]
    assert "<td>2</td>" in again


def test_dbos_errors_show_by_their_public_names(app: None, ui_server: StartUI) -> None:
    """Our error classes live in private modules; the page names them as users import them
    (``dbos.error.X``), the workflow's error and its step's alike. Other classes keep their
    module path."""
    with SetWorkflowID("ui-http-dbos-error"), pytest.raises(DBOSNonExistentWorkflowError):
        ui_http_dbos_error()
    server = ui_server()
    page = request(server, "GET", "/workflows/ui-http-dbos-error")
    assert page.status == 200
    shown = "dbos.error.DBOSNonExistentWorkflowError: workflow &#39;ui-http-nowhere&#39;"
    assert f'<p class="error" id="error">{shown}' in page.body
    assert f'<span class="error">{shown}' in page.body
    assert (
        "dbos._base.errors.DBOSNonExistentWorkflowError:"
        not in page.body.split('id="traceback"')[0]
    )
    plain = request(server, "GET", "/workflows/ui-http-fails").body
    assert '<p class="error" id="error">builtins.ValueError: boom' in plain


def test_user_data_is_escaped(app: None, ui_server: StartUI) -> None:
    server = ui_server()
    for path in ("/workflows/ui-http-xss", "/workflows/ui-http-fails", "/workflows"):
        body = request(server, "GET", path).body
        assert "<script>alert" not in body, path
    assert "&lt;script&gt;alert(" in request(server, "GET", "/workflows/ui-http-xss").body
    assert "&lt;script&gt;" in request(server, "GET", "/workflows/ui-http-fails").body
    # A name typed into a filter comes back escaped too.
    echoed = request(server, "GET", "/workflows?" + urlencode({"name": XSS})).body
    assert "<script>alert" not in echoed


def test_loopback_actions_cancel_with_confirmation(app: None, ui_server: StartUI) -> None:
    server = ui_server()
    start_waiter("ui-http-wait")
    wait_status("ui-http-wait", "PENDING")
    assert "action-cancel" in request(server, "GET", "/workflows/ui-http-wait").body
    asked = request(server, "GET", "/workflows/ui-http-wait/confirm/cancel")
    assert asked.status == 200 and 'id="confirm"' in asked.body
    unconfirmed = request(server, "POST", "/workflows/ui-http-wait/cancel", {})
    assert unconfirmed.status == 400
    assert DBOS.get_workflow_status("ui-http-wait").status == "PENDING"  # type: ignore[union-attr]
    done = confirm(server, "ui-http-wait", "cancel")
    assert done.status == 303 and done.headers["location"].endswith("notice=cancelled")
    assert DBOS.get_workflow_status("ui-http-wait").status == "CANCELLED"  # type: ignore[union-attr]
    # Another site cannot post from a visitor's browser, nor reach it under another name.
    start_waiter("ui-http-wait2")
    wait_status("ui-http-wait2", "PENDING")
    foreign = confirm(server, "ui-http-wait2", "cancel", Origin="https://evil.example")
    assert foreign.status == 403 and "another site" in foreign.body
    rebound = request(server, "GET", "/workflows", headers={"Host": f"evil.example:{server.port}"})
    assert rebound.status == 421
    assert DBOS.get_workflow_status("ui-http-wait2").status == "PENDING"  # type: ignore[union-attr]
    same_site = confirm(server, "ui-http-wait2", "cancel", Origin=server.base)
    assert same_site.status == 303


def _fork_choices(server: UIServer, workflow_id: str) -> list[tuple[str, str]]:
    page = request(server, "GET", f"/workflows/{workflow_id}/confirm/fork")
    assert page.status == 200, page.body
    return re.findall(r'<option value="(\d+)">([^<]*)</option>', page.body)


def test_fork_page_offers_each_step_once_numbered_from_1(app: None, ui_server: StartUI) -> None:
    server = ui_server()
    # Step IDs as the steps list shows them (from 1); the first is the start, offered once.
    assert _fork_choices(server, "ui-http-plain") == [
        ("1", "1: ui_http_double (from the start)"),
        ("2", "2: ui_http_double"),
        ("3", "3: DBOS.setEvent"),
    ]
    # No recorded step: only the start.
    assert _fork_choices(server, "ui-http-fails") == [("1", "1 (from the start)")]


def test_resume_fork_and_delete(app: None, ui_server: StartUI) -> None:
    server = ui_server()
    forked = request(
        server, "POST", "/workflows/ui-http-plain/fork", {"confirm": "yes", "step": "1"}
    )
    assert forked.status == 303
    new_id = forked.headers["location"].split("/workflows/")[1].split("?")[0]
    assert DBOS.retrieve_workflow(new_id).get_result() == "plain"
    assert DBOS.get_workflow_status(new_id).forked_from == "ui-http-plain"  # type: ignore[union-attr]
    bad_step = request(server, "POST", "/workflows/ui-http-plain/fork", {"confirm": "yes"})
    assert bad_step.status == 400
    resumed = confirm(server, "ui-http-fails", "resume")
    assert resumed.status == 303 and "notice=resumed" in resumed.headers["location"]
    with pytest.raises(ValueError):
        DBOS.retrieve_workflow("ui-http-fails").get_result()
    deleted = confirm(server, "ui-http-xss", "delete")
    assert deleted.status == 303 and deleted.headers["location"] == "/workflows?notice=deleted"
    assert DBOS.get_workflow_status("ui-http-xss") is None


def test_token_protects_actions_beyond_loopback(app: None, ui_server: StartUI) -> None:
    generated = ui_server(host="0.0.0.0")
    assert generated.guard.token is not None and len(generated.guard.token) >= 32
    given = ui_server(host="0.0.0.0", token="s3cret-token")
    start_waiter("ui-http-tok")
    wait_status("ui-http-tok", "PENDING")
    for server in (generated, given):
        refused = confirm(server, "ui-http-tok", "cancel")
        assert refused.status == 403 and "token is required" in refused.body
        assert "action-cancel" not in request(server, "GET", "/workflows/ui-http-tok").body
        wrong = confirm(server, "ui-http-tok", "cancel", **{"X-DBOS-UI-Token": "nope"})
        assert wrong.status == 403
        assert request(server, "GET", "/workflows/ui-http-tok/confirm/cancel").status == 403
    assert DBOS.get_workflow_status("ui-http-tok").status == "PENDING"  # type: ignore[union-attr]
    # Reading needs no token.
    assert request(given, "GET", "/workflows/ui-http-tok").status == 200
    # The login page checks the token and keeps it in an HttpOnly, SameSite=Strict cookie.
    assert request(given, "POST", "/login", {"token": "wrong"}).status == 403
    login = request(given, "POST", "/login", {"token": "s3cret-token"})
    assert login.status == 303
    cookie = login.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie.replace("Strict", "strict")
    jar = {"Cookie": cookie.split(";")[0]}
    assert "action-cancel" in request(given, "GET", "/workflows/ui-http-tok", headers=jar).body
    done = confirm(given, "ui-http-tok", "cancel", **jar)
    assert done.status == 303
    assert DBOS.get_workflow_status("ui-http-tok").status == "CANCELLED"  # type: ignore[union-attr]
    by_header = confirm(
        generated, "ui-http-plain", "resume", **{"X-DBOS-UI-Token": generated.guard.token}
    )
    assert by_header.status == 303


def test_read_only_offers_and_allows_no_action(app: None, ui_server: StartUI) -> None:
    server = ui_server(read_only=True)
    start_waiter("ui-http-ro")
    wait_status("ui-http-ro", "PENDING")
    page = request(server, "GET", "/workflows/ui-http-ro").body
    assert 'id="actions"' not in page and "read-only" in page
    for action in ("cancel", "resume", "fork", "delete"):
        refused = confirm(server, "ui-http-ro", action)
        assert refused.status == 403 and "read-only" in refused.body
    assert DBOS.get_workflow_status("ui-http-ro").status == "PENDING"  # type: ignore[union-attr]
    assert DBOS.get_workflow_status("ui-http-plain") is not None


def test_cli_without_the_extra_says_what_to_install(tmp_path: Path) -> None:
    # Starlette made unimportable, as on a machine without the extra.
    code = (
        "import sys; sys.modules['starlette'] = None; "
        "from dbos_client._cli import main; sys.argv = ['dbos', 'ui', '--db-url', "
        f"'sqlite:///{tmp_path}/x.db']; main()"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 1
    assert "pip install 'dbos-client[ui]'" in result.stderr


@pytest.mark.slow
def test_cli_serves_and_prints_a_token_but_no_password(
    app: None, dbos_system_database_url: str
) -> None:
    pytest.importorskip("uvicorn", reason="the dbos-client[ui] extra is not installed")
    url = dbos_system_database_url
    if url.startswith("postgresql://") and "@" in url:
        scheme, rest = url.split("://", 1)
        user, host = rest.split("@", 1)
        url = f"{scheme}://{user.split(':')[0]}:pw-never-shown@{host}"  # trust auth ignores it
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    command = Path(sys.executable).parent / "dbos"
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("DBOS_SYSTEM_DATABASE_URL", "DBOS_UI_TOKEN")
    }
    process = subprocess.Popen(
        [str(command), "ui", "--db-url", url, "--host", "0.0.0.0", "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )
    try:
        assert process.stdout is not None
        first = process.stdout.readline()
        second = process.stdout.readline()
        assert "DBOS dashboard for" in first and "pw-never-shown" not in first + second
        assert "/login?token=" in second
        token = second.rsplit("token=", 1)[1].strip()
        deadline = time.monotonic() + 30
        while True:
            try:
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
                connection.request("GET", "/workflows")
                response = connection.getresponse()
                break
            except OSError:
                assert time.monotonic() < deadline, "dbos ui did not answer"
                time.sleep(0.2)
        assert response.status == 200 and "ui-http-plain" in response.read().decode()
        connection.close()
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        connection.request("GET", f"/login?token={token}")
        assert connection.getresponse().status == 303
        connection.close()
    finally:
        process.terminate()
        process.wait(timeout=30)


def test_ids_with_slashes_and_markup(app: None, ui_server: StartUI) -> None:
    server = ui_server()
    odd = "tenant/7/<b>order</b>"
    start_waiter(odd)
    wait_status(odd, "PENDING")
    quoted = "tenant%2F7%2F%3Cb%3Eorder%3C%2Fb%3E"
    listing = request(server, "GET", "/workflows?prefix=tenant").body
    assert f'href="/workflows/{quoted}"' in listing and "<b>order" not in listing
    page = request(server, "GET", f"/workflows/{quoted}")
    assert page.status == 200 and "tenant/7/&lt;b&gt;order&lt;/b&gt;" in page.body
    done = confirm(server, quoted, "cancel")
    assert done.status == 303 and done.headers["location"].startswith(f"/workflows/{quoted}?")
    assert DBOS.get_workflow_status(odd).status == "CANCELLED"  # type: ignore[union-attr]


def test_cli_names_a_taken_port_and_says_the_port_it_picked(
    app: None, dbos_system_database_url: str
) -> None:
    pytest.importorskip("uvicorn", reason="the dbos-client[ui] extra is not installed")
    import socket

    command = Path(sys.executable).parent / "dbos"
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("DBOS_SYSTEM_DATABASE_URL", "DBOS_UI_TOKEN")
    }
    base = [str(command), "ui", "--db-url", dbos_system_database_url]
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        refused = subprocess.run(
            [*base, "--port", str(port)],
            capture_output=True,
            text=True,
            env=env,
            timeout=60,
            check=False,
        )
    # A clear error, and no "dashboard at <url>" line for a URL that is not served.
    assert refused.returncode == 1, refused.stdout + refused.stderr
    assert f"cannot listen on 127.0.0.1:{port}" in refused.stderr
    assert "DBOS dashboard for" not in refused.stdout
    # Port 0: the system picks a free port, and the line says which.
    process = subprocess.Popen(
        [*base, "--port", "0"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env
    )
    try:
        assert process.stdout is not None
        first = process.stdout.readline()
        found = re.search(r"at http://127\.0\.0\.1:(\d+)/", first)
        assert found is not None and found.group(1) != "0", first
        connection = http.client.HTTPConnection("127.0.0.1", int(found.group(1)), timeout=30)
        connection.request("GET", "/workflows")
        assert connection.getresponse().status == 200
        connection.close()
    finally:
        process.terminate()
        process.wait(timeout=30)
