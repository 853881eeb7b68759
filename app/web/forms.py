"""The form bodies instructor pages share, read whole as FastAPI form models."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, Field

Text = Annotated[str, Field(max_length=20_000)]


class ScoreForm(BaseModel):
    """A score set by hand: points as typed, and the comment the learner will read."""

    score: Text = ""
    comment: Text = ""

    def refill(self) -> dict[str, str]:
        """Return what a refused form shows again, so nothing typed is lost."""
        return {"score": self.score, "comment": self.comment}


class DecisionForm(ScoreForm):
    """A decision on a provisional score: the button pressed, with a score for Change."""

    decision: Text = ""
