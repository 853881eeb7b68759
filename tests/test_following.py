"""The follow-along's shared read: one query per poll however many phones follow."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from fastapi import FastAPI
from sqlalchemy import event

from app.following import FollowersFull, FollowHub, show_slide


def hub_for(app: FastAPI) -> FollowHub:
    """A hub on the app's parts whose reads stay fresh for the whole test."""
    state = app.state
    return FollowHub(state.db, state.bank, state.templates.env, state.pool, 60, max_streams=5)


def slide_queries(app: FastAPI) -> list[str]:
    """Start recording the statements that read the presented slide."""
    seen: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if "presented_slide" in statement:
            seen.append(statement)

    event.listen(app.state.db.engine, "before_cursor_execute", record)
    return seen


def test_followers_waking_together_share_one_read(app: FastAPI) -> None:
    hub, queries = hub_for(app), slide_queries(app)

    async def wake_all() -> list[int]:
        slides = await asyncio.gather(*(hub.latest() for _ in range(50)))
        return [slide.revision for slide in slides]

    # A loop of its own in a thread: the browser tests' Playwright keeps one running in
    # this thread for the whole session, and asyncio.run refuses to start beside it.
    with ThreadPoolExecutor(1) as thread:
        assert thread.submit(asyncio.run, wake_all()).result() == [0] * 50
    assert len(queries) == 1


def test_a_new_revision_is_rendered_and_a_deleted_question_reads_as_waiting(
    app: FastAPI,
) -> None:
    hub, question = hub_for(app), app.state.bank.questions[3]
    with app.state.db.writing() as session:
        show_slide(session, question, question.demos[1])
    slide = hub.current()
    assert (slide.revision, slide.question, slide.demo) == (1, 3, 2)
    assert "Mixing the two fails" in slide.html and "InvalidArgumentError" in slide.html
    del app.state.bank.questions[3]  # the file was removed since
    with app.state.db.writing() as session:
        show_slide(session, question, question.demos[1])
    gone = hub.current()
    assert gone.revision == 2 and gone.question is None
    assert "Waiting for the presenter" in gone.html


def test_streams_past_the_bound_are_refused(app: FastAPI) -> None:
    hub = hub_for(app)
    for _ in range(5):
        hub.enter()
    assert hub.full()
    with pytest.raises(FollowersFull):
        hub.enter()
    hub.leave()
    assert not hub.full()
