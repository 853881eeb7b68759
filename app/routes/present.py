"""The presenter view: one demo at a time, full width, driven from the keyboard.

Runs go through the public demo endpoints (the streaming one from the page script, the
form one without JavaScript); this module only shows. Speaker notes are shown to a
signed-in instructor alone: the page itself is open, as its code is on learners' pages too.
"""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import Response

from app.demos.runs import find_cached
from app.presenting import deck, moves
from app.rounds import find_open
from app.schema import Demo, Question
from app.web.auth import MaybeInstructorDep
from app.web.deps import BankDep, DemoDep, LearnerDep, PoolDep, QuestionDep, ReadSession
from app.web.pages import render, view_demo
from app.web.qr import qr_svg
from app.web.rendering import render_markdown

router = APIRouter()


@router.get("/present", include_in_schema=False)
def present_first(
    request: Request,
    bank: BankDep,
    session: ReadSession,
    pool: PoolDep,
    learner: LearnerDep,
    instructor: MaybeInstructorDep,
) -> Response:
    """Show the first demo of the quiz, the start of a lesson."""
    slides = deck(bank)
    if not slides:
        raise HTTPException(404, detail="No question has a demo to present.")
    first = slides[0]
    return show(request, bank, first.question, first.demo, session, pool, learner, instructor)


@router.get("/present/{n}/{k}", include_in_schema=False)
def present_demo(
    request: Request,
    bank: BankDep,
    question: QuestionDep,
    demo: DemoDep,
    session: ReadSession,
    pool: PoolDep,
    learner: LearnerDep,
    instructor: MaybeInstructorDep,
) -> Response:
    """Show demo ``k`` of question ``n`` full width, code and output large."""
    return show(request, bank, question, demo, session, pool, learner, instructor)


def show(
    request: Request,
    bank: BankDep,
    question: Question,
    demo: Demo,
    session: ReadSession,
    pool: PoolDep,
    learner: LearnerDep,
    instructor: MaybeInstructorDep,
) -> Response:
    """Render one slide of the presenter view."""
    state = pool.state
    result = find_cached(session, question, demo, state.get("device_kind"))
    follow_url = str(request.base_url).rstrip("/") + "/follow"
    notes = render_markdown(demo.notes_markdown) if instructor and demo.notes_markdown else None
    return render(
        request,
        "present/present.html",
        question=question,
        demo=view_demo(demo, result),
        moves=moves(bank, question, demo),
        notes=notes,
        follow_url=follow_url,
        follow_qr=qr_svg(follow_url, "QR code of the follow-along link"),
        pool=state,
        demo_notice=state.get("notice"),
        learner=learner,
        instructor=instructor,
        open_round=find_open(session) if instructor else None,
    )
