"""The quiz-wide choices an instructor makes: when the reference answer shows, and whether
attempts made after seeing it count.

Both are stored as ``QuizSetting`` rows; app.reveals applies the reveal policy to what a
learner sees, app.attempts and app.analytics the counting of practice.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from sqlalchemy.orm import Session

from app.models import QuizSetting
from app.text import whole_number
from app.validation import InvalidText

MAX_AFTER = 100
REVEAL_KEY = "reveal"
COUNT_PRACTICE_KEY = "count-practice"
RevealMode = Literal["first", "after", "released"]


@dataclass(frozen=True, slots=True)
class RevealPolicy:
    """When learners see a question's reference answer; scores and feedback always show."""

    mode: RevealMode = "first"
    after: int = 2
    released: bool = False

    def shows(self, attempts: int) -> bool:
        """Tell whether a learner with this many attempts at a question sees the answer."""
        if self.mode == "after":
            return attempts >= self.after
        if self.mode == "released":
            return self.released
        return attempts >= 1

    def waiting_message(self, attempts: int) -> str:
        """Say when the reference answer will appear."""
        if self.mode == "after":
            left = self.after - attempts
            return (
                f"The reference answer appears after {self.after} attempts at this question; "
                f"{left} more to go."
            )
        return "The reference answer will appear here once your instructor releases it."


def get_reveal_policy(session: Session) -> RevealPolicy:
    """Return the stored reveal policy, or the default (after the first attempt)."""
    stored = session.get(QuizSetting, REVEAL_KEY)
    value = stored.value if stored is not None and isinstance(stored.value, dict) else {}
    mode = value.get("mode")
    after = value.get("after")
    return RevealPolicy(
        mode=mode if mode in ("first", "after", "released") else "first",
        after=after if isinstance(after, int) and 1 <= after <= MAX_AFTER else 2,
        released=value.get("released") is True,
    )


def parse_reveal_form(mode: str, after: str, released: bool) -> RevealPolicy:
    """Return the policy chosen on the settings form, or raise InvalidText."""
    if mode not in ("first", "after", "released"):
        raise InvalidText("Choose when learners see the reference answer.")
    count = whole_number(after)
    if count is None or not 1 <= count <= MAX_AFTER:
        raise InvalidText(f"The number of attempts must be a whole number from 1 to {MAX_AFTER}.")
    chosen: RevealMode = mode  # type: ignore[assignment]
    return RevealPolicy(mode=chosen, after=count, released=released)


def save_reveal_policy(session: Session, policy: RevealPolicy) -> None:
    """Store the reveal policy."""
    value = {"mode": policy.mode, "after": policy.after, "released": policy.released}
    session.merge(QuizSetting(key=REVEAL_KEY, value=value))


def get_count_practice(session: Session) -> bool:
    """Tell whether attempts made after seeing the reference answer count; by default not."""
    stored = session.get(QuizSetting, COUNT_PRACTICE_KEY)
    return stored is not None and stored.value is True


def save_count_practice(session: Session, value: bool) -> None:
    """Store whether practice attempts count towards the best score."""
    session.merge(QuizSetting(key=COUNT_PRACTICE_KEY, value=value))
