"""The follow-along: what the presenter shows, kept in the database and sent to phones.

The slide lives in one database row, so every web process serves the same one. Each
process reads it at most once per poll, however many followers it streams to, and renders
the slide once per change; the streams only compare revisions.
"""

from __future__ import annotations

import asyncio
import threading
import time
from dataclasses import dataclass
from typing import Any

import anyio.to_thread
from jinja2 import Environment
from sqlalchemy.orm import Session

from app.db import Database
from app.demos.protocol import DemoRunner
from app.demos.runs import find_cached
from app.models import PresentedSlide, utc_now
from app.questions import QuestionBank
from app.schema import Demo, Question
from app.web.pages import view_demo

SLIDE_ID = 1
TEMPLATE = "present/_follow_slide.html"


def show_slide(session: Session, question: Question, demo: Demo) -> int:
    """Make this demo the presented slide (again, after a run); return its new revision."""
    row = session.get(PresentedSlide, SLIDE_ID, with_for_update=True)
    if row is None:  # made by the migration; only a hand-deleted row is missing
        row = PresentedSlide(id=SLIDE_ID, revision=0)
        session.add(row)
    row.question_id, row.demo_index = str(question.id), demo.index
    row.revision = (row.revision or 0) + 1
    row.updated_at = utc_now()
    session.flush()
    return row.revision


@dataclass(frozen=True, slots=True)
class Snapshot:
    """The presented slide as followers get it: revision 0 before the presenter starts."""

    revision: int
    question: int | None
    demo: int | None
    title: str
    html: str

    def event(self) -> dict[str, Any]:
        """Return the data of the ``slide`` event that carries it."""
        return {
            "revision": self.revision,
            "question": self.question,
            "demo": self.demo,
            "title": self.title,
            "html": self.html,
        }


class FollowersFull(Exception):
    """Raised when a web process already streams to as many followers as it may."""


class FollowHub:
    """One web process's view of the presented slide, shared by its follower streams."""

    def __init__(
        self,
        database: Database,
        bank: QuestionBank,
        templates: Environment,
        pool: DemoRunner,
        poll_s: float,
        max_streams: int,
    ) -> None:
        self.database, self.bank, self.templates, self.pool = database, bank, templates, pool
        self.poll_s, self.max_streams = poll_s, max_streams
        self.streams = 0
        self._lock = threading.Lock()
        self._reading = asyncio.Lock()  # one loop per web process; bound on first wait
        self._latest: Snapshot | None = None
        self._read_at = float("-inf")

    def full(self) -> bool:
        """Tell whether this process streams to as many followers as it may."""
        return self.streams >= self.max_streams

    def enter(self) -> None:
        """Count a new follower stream, or raise FollowersFull past the bound."""
        with self._lock:
            if self.streams >= self.max_streams:
                raise FollowersFull
            self.streams += 1

    def leave(self) -> None:
        """Count a follower stream that ended."""
        with self._lock:
            self.streams -= 1

    async def latest(self) -> Snapshot:
        """Return the presented slide, read from the database at most once per poll.

        Followers' streams wake together: one of them reads, the others wait for it and
        take what it read, rather than each sending the same query at the same moment.
        """
        if (known := self._fresh()) is not None:
            return known
        async with self._reading:
            if (known := self._fresh()) is not None:
                return known
            return await anyio.to_thread.run_sync(self.current)

    def _fresh(self) -> Snapshot | None:
        if self._latest is not None and time.monotonic() - self._read_at < self.poll_s:
            return self._latest
        return None

    def current(self) -> Snapshot:
        """Read the presented slide now; render it only when its revision changed."""
        with self.database.reading() as session:
            row = session.get(PresentedSlide, SLIDE_ID)
            revision = row.revision if row is not None else 0
            known = self._latest
            if known is None or known.revision != revision:
                known = self._render(session, row)
            self._latest, self._read_at = known, time.monotonic()
            return known

    def _render(self, session: Session, row: PresentedSlide | None) -> Snapshot:
        question = self.bank.by_id(row.question_id) if row and row.question_id else None
        if row is None or question is None or not 1 <= row.demo_index <= len(question.demos):
            html = self.templates.get_template(TEMPLATE).render(question=None, demo=None)
            return Snapshot(row.revision if row else 0, None, None, "", html)
        demo = question.demos[row.demo_index - 1]
        result = find_cached(session, question, demo, self.pool.state.get("device_kind"))
        view = view_demo(demo, result)
        html = self.templates.get_template(TEMPLATE).render(question=question, demo=view)
        title = f"Question {question.number}, demo {demo.index}: {demo.title}"
        return Snapshot(row.revision, question.number, demo.index, title, html)
