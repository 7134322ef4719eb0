"""The dashboard's web app: Starlette routes over a `Reader`, pages from Jinja templates
(autoescaped: workflow names, inputs, outputs and errors are user data), htmx polling for
live parts, actions behind a confirmation page and the `Guard`."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

import jinja2
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates

from dbos import DBOSException
from dbos.storage import scrub_exception

from .. import _render as render
from . import _filters as filters
from ._guard import COOKIE, Guard
from ._reading import STATUSES, Reader, json_text, queue_settings, timeline

_HERE = Path(__file__).parent
ACTIONS = ("cancel", "resume", "fork", "delete")
#: What each action's confirmation page asks.
_QUESTIONS = {
    "cancel": "Cancel this workflow? It stops at its next step.",
    "resume": "Resume this workflow from its last recorded step? A process with its code runs it.",
    "fork": "Start a new workflow that runs this one again from the chosen step?",
    "delete": "Delete this workflow and everything recorded for it? This cannot be undone.",
}
#: Notices a redirect may carry (by key, so no text from the query string is shown).
NOTICES = {**render.OUTCOME_TEXT, "forked": "forked: the new workflow is queued"}
#: How often live parts of a page refresh, in seconds.
POLL_S = 2
#: Seconds between two refreshes of the schedules page: each reads up to 2,000 recent
#: workflows for the schedules' runs, and schedules tick by the minute.
SCHEDULES_POLL_S = 10

Handler = Callable[[Request], Awaitable[Response]]


def _templates() -> Jinja2Templates:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(_HERE / "templates"),
        autoescape=True,  # every template is HTML; user data is escaped everywhere
        undefined=jinja2.StrictUndefined,
    )
    env.filters["iso"] = render.iso
    env.filters["json"] = json_text
    env.filters["duration"] = render.duration
    env.filters["error_record"] = render.error_record
    env.filters["queue_settings"] = queue_settings
    env.filters["url"] = lambda text: quote(str(text), safe="")
    return Jinja2Templates(env=env)


class _Pages:
    """The route handlers, over one reader and guard."""

    def __init__(self, reader: Reader, guard: Guard, database: str) -> None:
        self.reader = reader
        self.guard = guard
        self.database = database
        self.templates = _templates()

    def page(self, request: Request, name: str, status_code: int = 200, **context: Any) -> Response:
        context.setdefault("notice", NOTICES.get(request.query_params.get("notice", "")))
        return self.templates.TemplateResponse(
            request,
            name,
            {
                "database": self.database,
                "can_act": self.guard.can_act(request),
                "read_only": self.guard.read_only,
                "needs_token": self.guard.token is not None,
                "poll_s": POLL_S,
                "statuses": STATUSES,
                **context,
            },
            status_code=status_code,
        )

    def message(self, request: Request, text: str, status_code: int) -> Response:
        return self.page(request, "message.html", status_code, text=text)

    def guarded(self, handler: Handler) -> Handler:
        async def wrapped(request: Request) -> Response:
            if not self.guard.host_allowed(request):
                return Response("unexpected Host header", status_code=421)
            try:
                return await handler(request)
            except DBOSException as exc:
                if self.database:
                    scrub_exception(exc, self.database)
                return self.message(request, f"{exc} ({type(exc).__name__})", 503)

        return wrapped

    async def home(self, request: Request) -> Response:
        return RedirectResponse("/workflows", status_code=303)

    async def workflows(self, request: Request) -> Response:
        chosen = filters.parse(request.query_params)
        found = await run_in_threadpool(self.reader.list_workflows, chosen.query)
        counts = await run_in_threadpool(self.reader.counts, chosen.query)
        fragment = request.query_params.get("fragment") == "1"
        return self.page(
            request,
            "_workflow_rows.html" if fragment else "workflows.html",
            filters=chosen,
            workflows=found,
            counts=counts,
        )

    async def workflow(self, request: Request) -> Response:
        workflow_id = request.path_params["workflow_id"]
        status = await run_in_threadpool(self.reader.workflow, workflow_id)
        if status is None:
            return self.message(request, f"no workflow with ID {workflow_id}", 404)
        steps = await run_in_threadpool(self.reader.steps, workflow_id)
        children = await run_in_threadpool(self.reader.children, workflow_id)
        events = await run_in_threadpool(self.reader.events, workflow_id)
        fragment = request.query_params.get("fragment") == "1"
        return self.page(
            request,
            "_workflow_live.html" if fragment else "workflow.html",
            wf=status,
            timeline=timeline(steps),
            children=children,
            events=events,
        )

    async def stream(self, request: Request) -> Response:
        workflow_id = request.path_params["workflow_id"]
        key = request.query_params.get("key", "")
        entries, closed = await run_in_threadpool(self.reader.stream, workflow_id, key)
        return self.page(request, "_stream.html", key=key, entries=entries, closed=closed)

    def _action_refusal(self, request: Request) -> Response | None:
        """The answer to an action request this server refuses (unknown action, no token,
        read-only, another site), or None."""
        action = request.path_params["action"]
        if action not in ACTIONS:
            return self.message(request, f"no such action: {action}", 404)
        refusal = self.guard.action_refusal(request)
        return None if refusal is None else self.message(request, refusal, 403)

    async def confirm(self, request: Request) -> Response:
        workflow_id = request.path_params["workflow_id"]
        action = request.path_params["action"]
        refused = self._action_refusal(request)
        if refused is not None:
            return refused
        status = await run_in_threadpool(self.reader.workflow, workflow_id)
        if status is None:
            return self.message(request, f"no workflow with ID {workflow_id}", 404)
        steps = await run_in_threadpool(self.reader.steps, workflow_id) if action == "fork" else []
        return self.page(
            request,
            "confirm.html",
            wf=status,
            action=action,
            question=_QUESTIONS[action],
            steps=steps,
        )

    async def act(self, request: Request) -> Response:
        workflow_id = request.path_params["workflow_id"]
        action = request.path_params["action"]
        refused = self._action_refusal(request)
        if refused is not None:
            return refused
        form = await request.form()
        if form.get("confirm") != "yes":
            return self.message(request, "the action was not confirmed", 400)
        target = f"/workflows/{quote(workflow_id, safe='')}"
        if action == "fork":
            step_text = str(form.get("step", ""))
            if not step_text.isdigit():
                return self.message(request, "choose the step to fork from", 400)
            new_id = await run_in_threadpool(self.reader.fork, workflow_id, int(step_text))
            return RedirectResponse(
                f"/workflows/{quote(new_id, safe='')}?notice=forked", status_code=303
            )
        if action == "cancel":
            result = await run_in_threadpool(self.reader.cancel, workflow_id)
        elif action == "resume":
            result = await run_in_threadpool(self.reader.resume, workflow_id)
        else:
            result = await run_in_threadpool(
                self.reader.delete, workflow_id, form.get("children") == "on"
            )
            if result.ok:
                target = "/workflows"
        return RedirectResponse(
            f"{target}?{urlencode({'notice': result.outcome})}", status_code=303
        )

    async def queues(self, request: Request) -> Response:
        loads = await run_in_threadpool(self.reader.queues)
        fragment = request.query_params.get("fragment") == "1"
        return self.page(request, "_queue_rows.html" if fragment else "queues.html", queues=loads)

    async def schedules(self, request: Request) -> Response:
        found = await run_in_threadpool(self.reader.schedules)
        fragment = request.query_params.get("fragment") == "1"
        return self.page(
            request,
            "_schedule_rows.html" if fragment else "schedules.html",
            schedules=found,
            schedules_poll_s=SCHEDULES_POLL_S,
        )

    async def executors(self, request: Request) -> Response:
        leases = await run_in_threadpool(self.reader.executors)
        fragment = request.query_params.get("fragment") == "1"
        return self.page(
            request, "_executor_rows.html" if fragment else "executors.html", leases=leases
        )

    async def login(self, request: Request) -> Response:
        if request.method == "POST":
            given = str((await request.form()).get("token", ""))
        else:
            given = request.query_params.get("token", "")
        if self.guard.token is None:
            return RedirectResponse("/workflows", status_code=303)
        if not given:
            return self.page(request, "login.html", failed=False)
        if not self.guard.token_matches(given):
            return self.page(request, "login.html", 403, failed=True)
        response = RedirectResponse("/workflows", status_code=303)
        response.set_cookie(
            COOKIE, given, httponly=True, samesite="strict", secure=request.url.scheme == "https"
        )
        return response


def create_app(reader: Reader, guard: Guard, url_for_display: str = "") -> Starlette:
    """The dashboard over `reader`, acting under `guard`'s rules. `url_for_display` (a URL
    without its password) names the database in the page header."""
    pages = _Pages(reader, guard, url_for_display)
    routes = [
        Route("/", pages.guarded(pages.home)),
        Route("/workflows", pages.guarded(pages.workflows)),
        # IDs may hold "/" (sent as %2F, decoded before routing): the longer forms first.
        Route("/workflows/{workflow_id:path}/stream", pages.guarded(pages.stream)),
        Route("/workflows/{workflow_id:path}/confirm/{action:str}", pages.guarded(pages.confirm)),
        Route(
            "/workflows/{workflow_id:path}/{action:str}", pages.guarded(pages.act), methods=["POST"]
        ),
        Route("/workflows/{workflow_id:path}", pages.guarded(pages.workflow)),
        Route("/queues", pages.guarded(pages.queues)),
        Route("/schedules", pages.guarded(pages.schedules)),
        Route("/executors", pages.guarded(pages.executors)),
        Route("/login", pages.guarded(pages.login), methods=["GET", "POST"]),
        Mount("/static", StaticFiles(directory=_HERE / "static"), name="static"),
    ]
    return Starlette(routes=routes)
