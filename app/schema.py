"""The pydantic models that a question file must satisfy."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Literal, Self
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from app.matching import Pattern, compile_pattern

Slug = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9-]{0,63}$")]
# Long enough for a phrase with {a|b|c} choices, each of which is a phrase of its own.
Phrase = Annotated[str, StringConstraints(min_length=1, max_length=600)]
SLUG_HELP = "lower-case letters, digits and dashes"


class Strict(BaseModel):
    """A model that refuses unknown keys, so typos in a file are reported."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class FrontMatter(Strict):
    """The YAML header of a question file."""

    id: UUID = Field(description="Stable identifier; keep it when renaming the file.")
    number: int = Field(ge=1, le=9999, description="Position in the quiz and in the URL.")
    title: str = Field(min_length=1, max_length=200)
    topic: str = Field(min_length=1, max_length=100)
    points: float = Field(default=10, gt=0, le=1000)


class KeyPoint(Strict):
    """One idea the answer should contain, with the phrasings that show it."""

    id: Slug
    text: str = Field(min_length=1, description="The point as the learner will read it.")
    weight: float = Field(default=1, gt=0, le=100)
    any_of: list[Phrase] = Field(min_length=1, description="Phrasings that earn the point.")
    contradicted_by: list[Phrase] = Field(
        default_factory=list, description="Phrasings that void the point when present."
    )
    optional: bool = Field(
        default=False,
        description="Beyond what the question asks: can make up for a missed point, never "
        "required for full marks.",
    )
    hint: str = Field(
        default="",
        max_length=300,
        description="A nudge shown for a missed point before the reference answer is revealed.",
    )

    @model_validator(mode="after")
    def _patterns_compile(self) -> Self:
        _compile_all(self.any_of + self.contradicted_by)
        return self


class Misconception(Strict):
    """A wrong idea worth naming, with the feedback that corrects it."""

    id: Slug
    any_of: list[Phrase] = Field(min_length=1)
    feedback: str = Field(min_length=1)
    voids: list[Slug] = Field(
        default_factory=list, description="Key points that a detected misconception cancels."
    )
    demo: int | None = Field(default=None, ge=1, description="Demo that refutes it (1-based).")
    cap: float = Field(
        default=1, ge=0, le=1, description="Highest score of an answer that holds this idea."
    )

    @model_validator(mode="after")
    def _patterns_compile(self) -> Self:
        _compile_all(self.any_of)
        return self


class Rubric(Strict):
    """How answers to one question are scored."""

    explain: bool = Field(
        default=True, description="Whether the answer must explain, not only list terms."
    )
    keyword_cap: float = Field(
        default=0.5, ge=0, le=1, description="Highest score of a bare keyword list."
    )
    key_points: list[KeyPoint] = Field(min_length=1)
    misconceptions: list[Misconception] = Field(default_factory=list)
    require: float | None = Field(
        default=None,
        gt=0,
        description="Weight of met points that earns full marks: with weights of 1, any k of "
        "n. Default: the weight of the points that are not optional.",
    )
    referents: list[Phrase] = Field(
        default_factory=list,
        max_length=2,
        description='What "the former"/"the first" and "the latter"/"the second" stand for.',
    )
    ignore: list[Phrase] = Field(
        default_factory=list,
        description='Phrases whose words never count: another sense ("cost function").',
    )

    @model_validator(mode="after")
    def _references_resolve(self) -> Self:
        ids = [point.id for point in self.key_points]
        duplicates = sorted({i for i in ids if ids.count(i) > 1})
        if duplicates:
            raise ValueError(f"duplicate key point id(s): {', '.join(duplicates)}")
        for misconception in self.misconceptions:
            unknown = [v for v in misconception.voids if v not in ids]
            if unknown:
                raise ValueError(
                    f"misconception {misconception.id!r} voids unknown key point(s): "
                    + ", ".join(unknown)
                )
        if self.require is not None and self.require > sum(p.weight for p in self.key_points):
            raise ValueError("require is more than the weight of all key points together")
        if not any(not p.optional for p in self.key_points) and self.require is None:
            raise ValueError(
                "every key point is optional: set require to say what earns full marks"
            )
        _compile_all(self.referents + self.ignore)
        return self

    @property
    def total_weight(self) -> float:
        """Return the weight of met points that earns full marks."""
        if self.require is not None:
            return self.require
        return sum(point.weight for point in self.key_points if not point.optional)


class DemoExpectation(Strict):
    """What a demo's output must show for the reference answer to hold."""

    contains: list[str] = Field(default_factory=list)
    not_contains: list[str] = Field(default_factory=list)
    matches: list[str] = Field(
        default_factory=list, description="Regular expressions the output must match."
    )
    raises: str | None = Field(default=None, description="Exception class name it must raise.")
    devices: list[Literal["cpu", "gpu"]] = Field(
        default_factory=list,
        description="Run once per device, side by side; a missing device is skipped.",
    )

    @model_validator(mode="after")
    def _regexes_compile(self) -> Self:
        for expression in self.matches:
            try:
                re.compile(expression)
            except re.error as error:
                raise ValueError(f"bad regular expression {expression!r}: {error}") from None
        return self


class Demo(Strict):
    """A runnable snippet that shows a question's point live."""

    index: int = Field(ge=1)
    title: str
    intro_markdown: str
    code: str
    expect: DemoExpectation | None
    notes_markdown: str = Field(
        default="", description="Speaker notes: shown on the presenter view, never to learners."
    )
    line: int = Field(description="Line of the code block in the file, for error messages.")

    @property
    def devices(self) -> list[str]:
        """Return the devices to run on side by side; empty means the default device."""
        return list(self.expect.devices) if self.expect else []


class Question(Strict):
    """A fully loaded, validated question."""

    id: UUID
    number: int
    title: str
    topic: str
    points: float
    prompt_markdown: str
    reference_markdown: str
    rubric: Rubric
    demos: tuple[Demo, ...]
    path: Path
    content_hash: str


def _compile_all(phrases: list[str]) -> list[Pattern]:
    return [compile_pattern(phrase) for phrase in phrases]
