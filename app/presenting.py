"""The presenter's deck: every demo in quiz order, and what lies before and after one."""

from __future__ import annotations

from dataclasses import dataclass

from app.questions import QuestionBank
from app.schema import Demo, Question


@dataclass(frozen=True, slots=True)
class Slide:
    """One demo of one question, as the presenter shows it."""

    question: Question
    demo: Demo

    @property
    def url(self) -> str:
        """Return the presenter view's address of this slide."""
        return f"/present/{self.question.number}/{self.demo.index}"


@dataclass(frozen=True, slots=True)
class Moves:
    """Where each navigation key leads from a slide (None at the ends of the deck)."""

    previous_demo: Slide | None
    next_demo: Slide | None
    previous_question: Slide | None
    next_question: Slide | None
    position: int  # 1-based place of the slide in the deck
    total: int


def deck(bank: QuestionBank) -> list[Slide]:
    """Return every demo of every question in quiz order; questions without demos are skipped."""
    return [Slide(question, demo) for question in bank.ordered() for demo in question.demos]


def moves(bank: QuestionBank, question: Question, demo: Demo) -> Moves:
    """Return the slides one demo and one question away from this one.

    The next question is the first demo of the next question that has demos; the previous
    question is the first demo of the nearest earlier question that has any.
    """
    slides = deck(bank)
    here = next(
        i
        for i, slide in enumerate(slides)
        if slide.question.number == question.number and slide.demo.index == demo.index
    )
    starts = [i for i, slide in enumerate(slides) if slide.demo.index == 1]
    later = [i for i in starts if slides[i].question.number > question.number]
    earlier = [i for i in starts if slides[i].question.number < question.number]
    return Moves(
        previous_demo=slides[here - 1] if here > 0 else None,
        next_demo=slides[here + 1] if here + 1 < len(slides) else None,
        previous_question=slides[earlier[-1]] if earlier else None,
        next_question=slides[later[0]] if later else None,
        position=here + 1,
        total=len(slides),
    )
