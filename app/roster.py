"""The roster: a CSV of names (and optional emails) read, previewed and imported whole.

Every line is checked before anything is stored, and every bad line is reported with its
number; a file with any bad line stores nothing. A name already a learner's joins the
roster with the learner's record (and attempts) as it is.
"""

from __future__ import annotations

import csv
import io
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Literal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.learners import create_learner
from app.models import Attempt, Learner, RosterEntry
from app.validation import MAX_NAME_CHARS, InvalidText, clean_email, clean_name, name_key

MAX_ROSTER_LINES = 2000
SNIFF_CHARS = 4096
HEADER_NAMES = {"name", "names", "display name", "learner", "student"}
HEADER_EMAILS = {"email", "e-mail", "mail", "email address"}
Status = Literal["new", "existing", "listed"]


@dataclass(frozen=True, slots=True)
class RosterRow:
    """One good line: who, and what importing it does (create, list an existing, nothing)."""

    line: int
    name: str
    email: str | None
    status: Status
    learner_id: int | None = None


@dataclass(frozen=True, slots=True)
class RosterPreview:
    """What a file would import, and every problem that keeps it from being imported."""

    rows: list[RosterRow] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Tell whether the file can be imported: no problems, at least one name."""
        return not self.problems and bool(self.rows)

    def count(self, status: Status) -> int:
        """Return how many lines would have this outcome."""
        return sum(1 for row in self.rows if row.status == status)


def lookalike(name: str) -> str:
    """Return a key under which names that look alike collide (invisible characters dropped).

    Only what ``unicodedata`` knows: format characters (zero-width spaces and joiners,
    direction marks) are dropped before the usual key. Look-alike letters of other
    scripts need Unicode's confusable skeletons, which app.learners' name checks bring.
    """
    visible = "".join(ch for ch in name if unicodedata.category(ch) != "Cf")
    return name_key(" ".join(visible.split()))


def decode_roster(data: bytes) -> tuple[str | None, list[str]]:
    """Return the file as text, or None with each line that is not UTF-8 (by number)."""
    problems: list[str] = []
    for number, raw in enumerate(data.split(b"\n"), start=1):
        try:
            raw.decode("utf-8")
        except UnicodeDecodeError as error:
            byte = raw[error.start]
            problems.append(
                f"line {number}: not UTF-8 text (byte 0x{byte:02X}); save the file as "
                "“CSV UTF-8” and import it again."
            )
    if problems:
        return None, problems
    return data.decode("utf-8-sig"), []


def read_roster(session: Session, text: str) -> RosterPreview:
    """Check every line of a roster CSV against itself and the learners already stored."""
    lines = text.splitlines()
    if len(lines) > MAX_ROSTER_LINES:
        problem = f"The file has {len(lines):,} lines; import at most {MAX_ROSTER_LINES:,} at once."
        return RosterPreview(problems=[problem])
    known = _known_learners(session)
    rows: list[RosterRow] = []
    problems: list[str] = []
    seen: dict[str, tuple[int, str]] = {}  # lookalike key -> (line, name as written)
    name_at, email_at = 0, 1
    for line, cells in _records(text, lines, problems):
        if not any(cells):
            continue
        if not rows and not problems and _is_header(cells):
            name_at, email_at = _header_columns(cells)
            continue
        if len([cell for cell in cells if cell]) > 2:
            problems.append(f"line {line}: expected a name and an optional email, found more.")
            continue
        try:
            row = _read_row(line, cells, name_at, email_at, seen, known)
        except InvalidText as error:
            problems.append(f"line {line}: {error}")
            continue
        seen[lookalike(row.name)] = (line, row.name)
        rows.append(row)
    if not rows and not problems:
        problems.append(
            "The file holds no names: one name a line, optionally a comma and an email."
        )
    return RosterPreview(rows=rows, problems=problems)


def _records(text: str, lines: list[str], problems: list[str]) -> Iterator[tuple[int, list[str]]]:
    """Yield each record with its line number; a line the CSV reader refuses ends the file."""
    reader = csv.reader(io.StringIO(text), dialect=_dialect(lines))
    try:
        for cells in reader:
            yield reader.line_num, [cell.strip() for cell in cells]
    except csv.Error as error:  # a cell past the reader's size limit, say
        problems.append(f"line {reader.line_num}: this line cannot be read as CSV ({error}).")


def _read_row(
    line: int,
    cells: list[str],
    name_at: int,
    email_at: int,
    seen: dict[str, tuple[int, str]],
    known: dict[str, tuple[int, str, str, bool]],
) -> RosterRow:
    typed = cells[name_at] if name_at < len(cells) else ""
    if not typed:
        raise InvalidText("the name is empty.")
    name = clean_name(typed)
    key = name_key(name)
    if len(key) > MAX_NAME_CHARS:
        raise InvalidText(f"the name is too long once spelt out; use at most {MAX_NAME_CHARS}.")
    email = clean_email(cells[email_at] if email_at < len(cells) else None)
    alike = lookalike(name)
    if alike in seen:
        first_line, first = seen[alike]
        if name_key(first) == key:
            raise InvalidText(f"“{name}” is listed twice (also on line {first_line}).")
        raise InvalidText(
            f"“{name}” looks the same as “{first}” on line {first_line} but is spelt with "
            "other characters; keep one spelling."
        )
    if alike in known:
        learner_id, learner_key, display, listed = known[alike]
        if learner_key != key:
            raise InvalidText(
                f"“{name}” looks the same as the learner “{display}” but is spelt with other "
                "characters; use their spelling, or another name."
            )
        return RosterRow(line, display, email, "listed" if listed else "existing", learner_id)
    return RosterRow(line, name, email, "new")


def _known_learners(session: Session) -> dict[str, tuple[int, str, str, bool]]:
    """Map each stored learner's lookalike key to (id, key, name, on the roster)."""
    rows = session.execute(
        select(
            Learner.id, Learner.name_key, Learner.display_name, RosterEntry.learner_id
        ).outerjoin(RosterEntry, RosterEntry.learner_id == Learner.id)
    ).all()
    return {lookalike(row[2]): (row[0], row[1], row[2], row[3] is not None) for row in rows}


def _dialect(lines: list[str]) -> type[csv.Dialect] | csv.Dialect:
    """Guess the separator (a spreadsheet set to another locale writes ``;``); else a comma."""
    # A bounded sample: the first lines tell the separator, and the sniffer works through all
    # it is given (0.1 s for one 240 kB line).
    sample = "\n".join(lines[:20])[:SNIFF_CHARS]
    try:
        return csv.Sniffer().sniff(sample, delimiters=",;\t")
    except csv.Error:
        return csv.excel


def _is_header(cells: list[str]) -> bool:
    return bool(cells) and cells[0].casefold() in HEADER_NAMES | HEADER_EMAILS


def _header_columns(cells: list[str]) -> tuple[int, int]:
    folded = [cell.casefold() for cell in cells]
    name_at = next((i for i, c in enumerate(folded) if c in HEADER_NAMES), 0)
    email_at = next((i for i, c in enumerate(folded) if c in HEADER_EMAILS), 1 - name_at)
    return name_at, email_at


def import_roster(
    session: Session, preview: RosterPreview, codes: list[tuple[str, str]]
) -> tuple[int, list[tuple[str, str]]]:
    """Store a checked roster whole: create new learners, list existing ones.

    ``codes`` holds a sign-in code and its hash for each new learner, made outside the
    transaction (each hash costs tens of milliseconds). Return how many were listed and
    each new learner's name with their code, to be shown once.
    """
    if not preview.ok:
        raise InvalidText("The roster has problems; nothing was imported.")
    new_rows = [row for row in preview.rows if row.status == "new"]
    if len(codes) != len(new_rows):
        raise InvalidText("The learners changed while the roster was read; import it again.")
    given = iter(codes)
    shown: list[tuple[str, str]] = []
    added = 0
    for row in preview.rows:
        if row.status == "new":
            code, code_hash = next(given)
            learner = add_roster_learner(session, row.name, row.email, code_hash)
            shown.append((learner.display_name, code))
        elif row.status == "existing" and row.learner_id is not None:
            session.add(RosterEntry(learner_id=row.learner_id))
        else:
            continue
        added += 1
    session.flush()
    return added, shown


def add_roster_learner(
    session: Session, name: str, email: str | None, code_hash: str | None
) -> Learner:
    """Create a learner the instructor listed, before they start, and put them on the roster.

    The one place a roster learner is made, through ``create_learner``, so a name that
    looks like another learner's is refused (NameTaken) as at the start page. Their
    sign-in code's hash is given; the instructor hands the code out.
    """
    learner = create_learner(session, name, email, code_hash)
    session.add(RosterEntry(learner_id=learner.id))
    return learner


@dataclass(frozen=True, slots=True)
class RosterLine:
    """One learner of the roster, as the printable list shows them."""

    learner_id: int
    name: str
    email: str | None
    attempts: int


def roster(session: Session) -> list[RosterLine]:
    """Return the roster by name, each learner with their number of attempts."""
    counts = (
        select(Attempt.learner_id, func.count(Attempt.id).label("n"))
        .group_by(Attempt.learner_id)
        .subquery()
    )
    rows = session.execute(
        select(Learner.id, Learner.display_name, Learner.email, func.coalesce(counts.c.n, 0))
        .join(RosterEntry, RosterEntry.learner_id == Learner.id)
        .outerjoin(counts, counts.c.learner_id == Learner.id)
        .order_by(Learner.name_key)
    ).all()
    return [RosterLine(row[0], row[1], row[2], int(row[3])) for row in rows]
