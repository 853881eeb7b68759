"""Speaker notes: one optional ```notes block per demo, parsed, checked and kept from learners."""

from __future__ import annotations

from pathlib import Path

from app.questions import parse_question
from tests.test_cli import run
from tests.test_questions import VALID, errors_for

NOTES = """
```notes
Ask the room first: what does it print?
```
"""
DEMO_CODE = '```python\nprint("because")\n```\n'


def with_notes(text: str, where: str = DEMO_CODE) -> str:
    """Return the valid file with a notes block inserted after ``where``."""
    assert where in text
    return text.replace(where, where + NOTES, 1)


def line_of(text: str, fragment: str, occurrence: int = 1) -> int:
    """Return the 1-based line of the ``occurrence``-th line that starts with ``fragment``."""
    hits = [n for n, line in enumerate(text.split("\n"), 1) if line.startswith(fragment)]
    return hits[occurrence - 1]


def test_a_demo_notes_block_is_parsed_into_the_demo() -> None:
    question = parse_question(with_notes(VALID).encode(), Path("q.md"))
    assert question.demos[0].notes_markdown == "Ask the room first: what does it print?"
    assert "Ask the room" not in question.demos[0].intro_markdown
    assert question.demos[0].code == 'print("because")\n'


def test_notes_are_optional() -> None:
    question = parse_question(VALID.encode(), Path("q.md"))
    assert question.demos[0].notes_markdown == ""


def test_an_empty_notes_block_is_an_error_at_its_line() -> None:
    text = VALID.replace(DEMO_CODE, DEMO_CODE + "\n```notes\n\n```\n")
    assert errors_for(text) == [
        (
            line_of(text, "```notes"),
            "the demo's notes block is empty: write the notes or remove the block",
        )
    ]


def test_two_notes_blocks_in_one_demo_are_an_error_at_the_second() -> None:
    text = with_notes(with_notes(VALID))
    assert errors_for(text) == [
        (
            line_of(text, "```notes", 2),
            "a demo has at most one ```notes block (put all its notes in one)",
        )
    ]


def test_a_notes_block_outside_a_demo_is_an_error_naming_the_section() -> None:
    text = with_notes(VALID, "Because.\n")
    assert errors_for(text) == [
        (
            line_of(text, "```notes"),
            "a ```notes block belongs in a '## Demo' section, not '## Reference answer'"
            " (speaker notes are never shown to learners)",
        )
    ]


def test_check_reports_a_misplaced_notes_block_with_file_and_line(tmp_path: Path) -> None:
    text = with_notes(VALID, "Why?\n")
    (tmp_path / "12-notes.md").write_text(text)
    result = run("check", str(tmp_path))
    assert result.returncode == 1
    where = f"{tmp_path / '12-notes.md'}:{line_of(text, '```notes')}:"
    assert f"{where} a ```notes block belongs in a '## Demo' section, not '## Question'" in (
        result.stderr
    )


def test_notes_leave_the_content_hash_alone_and_other_edits_change_it() -> None:
    def content_hash(text: str) -> str:
        return parse_question(text.encode(), Path("q.md")).content_hash

    plain = content_hash(VALID)
    assert content_hash(with_notes(VALID)) == plain  # answers are not marked as outdated
    assert content_hash(with_notes(VALID).replace("Ask the room", "Ask everyone")) == plain
    assert content_hash(VALID.replace('print("because")', 'print("because!")')) != plain
    assert content_hash(with_notes(VALID).replace("Because.", "Since.")) != plain
