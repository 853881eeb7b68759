"""Who may start: the class mode an instructor chooses, its join code and the roster.

**open**: anyone may start. **code**: a new learner needs the join code shown in class.
**roster**: only learners the instructor imported may start. A learner who already has a
record is never asked for the join code again; their own proof (app.learners) still is.
The mode and the join code are one ``QuizSetting`` row; the roster is ``RosterEntry``.
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass
from typing import Literal, get_args

from sqlalchemy.orm import Session

from app.learners import find_by_name
from app.models import QuizSetting, RosterEntry
from app.validation import InvalidText, clean_name

CLASS_MODE_KEY = "class-mode"
ClassMode = Literal["open", "code", "roster"]
MODES: tuple[ClassMode, ...] = get_args(ClassMode)
# Nine digits read aloud in three groups ("482 109 377"): about 30 bits, and a wrong code
# counts against /start's limit per address (TFQUIZ_START_LIMIT_PER_ADDRESS), so at the
# default of 100 a minute one address needs 9.5 years to walk half of them (5 x 10^8).
CODE_GROUPS, GROUP_DIGITS = 3, 3
CODE_DIGITS = CODE_GROUPS * GROUP_DIGITS


class NotAllowed(InvalidText):
    """Raised when the class mode keeps this person from starting; the message says why."""


@dataclass(frozen=True, slots=True)
class ClassSettings:
    """The class mode, and the join code (kept across modes so switching back keeps it)."""

    mode: ClassMode = "open"
    join_code: str | None = None

    @property
    def shown_code(self) -> str | None:
        """Return the join code as it is read aloud and shown, if there is one."""
        return spoken(self.join_code) if self.join_code else None


def get_class_settings(session: Session) -> ClassSettings:
    """Return the stored class mode, or open (anyone may start) when none is stored."""
    stored = session.get(QuizSetting, CLASS_MODE_KEY)
    value = stored.value if stored is not None and isinstance(stored.value, dict) else {}
    mode = value.get("mode")
    code = value.get("join_code")
    return ClassSettings(
        mode=mode if mode in MODES else "open",
        join_code=code if isinstance(code, str) and len(code) == CODE_DIGITS else None,
    )


def save_class_mode(session: Session, mode: str) -> ClassSettings:
    """Store the chosen mode (a code mode gets a join code if it has none), or raise InvalidText."""
    if mode not in MODES:
        raise InvalidText("Choose who may start: open, class code or roster.")
    current = get_class_settings(session)
    code = current.join_code or (new_join_code() if mode == "code" else None)
    chosen = ClassSettings(mode=mode, join_code=code)
    _store(session, chosen)
    return chosen


def regenerate_join_code(session: Session) -> ClassSettings:
    """Replace the join code, so a code shared outside the class stops working."""
    chosen = ClassSettings(mode=get_class_settings(session).mode, join_code=new_join_code())
    _store(session, chosen)
    return chosen


def _store(session: Session, chosen: ClassSettings) -> None:
    value = {"mode": chosen.mode, "join_code": chosen.join_code}
    session.merge(QuizSetting(key=CLASS_MODE_KEY, value=value))


def new_join_code() -> str:
    """Return a fresh join code: nine random digits, stored without spaces."""
    return "".join(str(secrets.randbelow(10)) for _ in range(CODE_DIGITS))


def spoken(code: str) -> str:
    """Return a join code in the groups it is read aloud and shown in ("482 109 377")."""
    return " ".join(code[i : i + GROUP_DIGITS] for i in range(0, len(code), GROUP_DIGITS))


def _typed_code(text: str | None) -> str:
    """Return the digits of a typed join code: spaces and dashes are how people group it."""
    return "".join(ch for ch in (text or "") if ch not in " -\u00a0\t")


def check_may_start(session: Session, name: str, join_code: str | None) -> None:
    """Refuse (NotAllowed) a start the class mode does not allow; return when it may go on.

    Only who may *try* is decided here: a returning learner still proves the name is
    theirs when signing in.
    """
    chosen = get_class_settings(session)
    if chosen.mode == "open":
        return
    learner = find_by_name(session, clean_name(name))
    if chosen.mode == "roster":
        if learner is None or session.get(RosterEntry, learner.id) is None:
            raise NotAllowed(
                "This class starts from a list of names, and this name is not on it. Type "
                "your name as your instructor listed it, or ask them to add you."
            )
        return
    if learner is not None:
        return  # already joined: the join code was needed once, to create the record
    typed = _typed_code(join_code)
    if not typed:
        raise NotAllowed("Enter the class code your instructor shows in class to start.")
    # compare_digest: how long a comparison takes says nothing about the code.
    if chosen.join_code is None or not hmac.compare_digest(
        typed.encode("utf-8", "replace"), chosen.join_code.encode()
    ):
        raise NotAllowed(
            "That class code is not right. Check it with the one shown in class (9 digits)."
        )
