"""The follow-along page and its event stream, and the presenter's "show this" that feeds them.

Anyone may follow, with no sign-in: the page shows what is on the projector. Only a
signed-in instructor moves the slide, with the CSRF token of their presenter page.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import RedirectResponse, Response, StreamingResponse

from app.following import FollowersFull, FollowHub, show_slide
from app.web.auth import InstructorDep
from app.web.csrf import HEADER, require_csrf
from app.web.deps import DatabaseDep, DemoDep, QuestionDep
from app.web.pages import render

router = APIRouter()
HEARTBEAT_S = 15.0  # a comment line this often keeps proxies from closing a quiet stream
FULL_RETRY_S = 30


@router.get("/follow", include_in_schema=False)
def follow(request: Request) -> Response:
    """Show what the presenter shows now; the page script keeps it up to date."""
    hub: FollowHub = request.app.state.follow
    return render(request, "present/follow.html", slide=hub.current())


@router.get("/follow/events", include_in_schema=False, response_class=StreamingResponse)
async def follow_events(request: Request) -> StreamingResponse:
    """Stream the presented slide as server-sent ``slide`` events, each time it changes."""
    hub: FollowHub = request.app.state.follow
    if hub.full():
        detail = (
            f"This server already streams to {hub.max_streams} followers;"
            f" reload in {FULL_RETRY_S} seconds."
        )
        raise HTTPException(503, detail=detail, headers={"Retry-After": str(FULL_RETRY_S)})

    async def stream() -> AsyncIterator[str]:
        # Counted once streaming starts, so a client gone before then is never counted.
        try:
            hub.enter()
        except FollowersFull:  # the last place went to another follower meanwhile
            yield "retry: 30000\n\n"
            return
        try:
            shown, sent_at = -1, time.monotonic()
            yield "retry: 2000\n\n"
            while not await request.is_disconnected():
                slide = await hub.latest()
                if slide.revision != shown:
                    shown, sent_at = slide.revision, time.monotonic()
                    yield f"event: slide\ndata: {json.dumps(slide.event())}\n\n"
                elif time.monotonic() - sent_at >= HEARTBEAT_S:
                    sent_at = time.monotonic()
                    yield ": still here\n\n"
                await asyncio.sleep(hub.poll_s)
        finally:
            hub.leave()

    headers = {"Cache-Control": "no-store", "X-Accel-Buffering": "no"}
    return StreamingResponse(stream(), media_type="text/event-stream", headers=headers)


@router.post("/present/{n}/{k}/show", include_in_schema=False, dependencies=[Depends(require_csrf)])
def show(
    request: Request,
    question: QuestionDep,
    demo: DemoDep,
    database: DatabaseDep,
    instructor: InstructorDep,
) -> Response:
    """Put this demo on every follower's phone; the presenter page posts it on each change."""
    with database.writing() as session:
        show_slide(session, question, demo)
    if HEADER in request.headers:  # the page script: nothing to show back
        return Response(status_code=204)
    return RedirectResponse(f"/present/{question.number}/{demo.index}", status_code=303)
