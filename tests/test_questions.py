"""The question loader: the real folder, and every kind of invalid file with its line."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.config import PROJECT_ROOT
from app.questions import FileInvalid, load_folder, parse_question

VALID = """---
id: 7d3c8a9e-1111-4a2b-8c3d-0123456789ab
number: 12
title: A twelfth question
topic: Testing
points: 5
---

## Question

Why?

## Reference answer

Because.

## Rubric

```yaml
key_points:
  - id: because
    text: Say because.
    weight: 1
    any_of: ["because"]
misconceptions:
  - id: why-not
    any_of: ["why not"]
    feedback: That is a question, not an answer.
    demo: 1
```

## Demo: Print it

```python
print("because")
```

```expect
contains: ["because"]
```
"""


def errors_for(text: str | bytes) -> list[tuple[int, str]]:
    """Parse a file's text and return its (line, message) errors."""
    raw = text.encode() if isinstance(text, str) else text
    with pytest.raises(FileInvalid) as caught:
        parse_question(raw, Path("q.md"))
    return [(e.line, e.message) for e in caught.value.errors]


def test_the_shipped_questions_load_without_errors() -> None:
    bank = load_folder(PROJECT_ROOT / "questions")
    assert bank.errors == []
    assert sorted(bank.questions) == list(range(1, 12))
    for question in bank.questions.values():
        assert question.demos, f"question {question.number} has no demo"
        assert all(demo.expect for demo in question.demos)


def test_a_valid_file_loads_every_part() -> None:
    question = parse_question(VALID.encode(), Path("q.md"))
    assert (question.number, question.title, question.points) == (12, "A twelfth question", 5)
    assert question.prompt_markdown == "Why?"
    assert question.rubric.key_points[0].any_of == ["because"]
    assert question.demos[0].title == "Print it"
    assert question.demos[0].code == 'print("because")\n'
    assert question.demos[0].expect is not None
    assert question.demos[0].expect.contains == ["because"]
    assert len(question.content_hash) == 64


@pytest.mark.parametrize(
    ("old", "new", "line", "message"),
    [
        ("---\nid:", "id:", 1, "must start with '---'"),
        ("number: 12", "number: [12", 4, "(in what starts on line 3)"),
        ("number: 12", "number: 0", 3, "number: Input should be greater than or equal to 1"),
        (
            "id: 7d3c8a9e-1111-4a2b-8c3d-0123456789ab",
            "id: nope",
            2,
            "id: Input should be a valid UUID",
        ),
        (
            "topic: Testing",
            "topic: Testing\ncolour: red",
            6,
            "colour: Extra inputs are not permitted",
        ),
        ("title: A twelfth question\n", "", 2, "title: Field required"),
        ("## Reference answer", "## Reference", 13, "unknown section '## Reference'"),
        (
            "## Question\n\nWhy?",
            "## Question\n\nWhy?\n\n## Question\n\nAgain?",
            13,
            "appears twice",
        ),
        ("## Question\n\nWhy?", "## Question\n", 9, "section '## Question' is empty"),
        ("```yaml", "```toml", 17, "the rubric needs one ```yaml block"),
        (
            "    weight: 1",
            "    weight: -1",
            23,
            "key_points.0.weight: Input should be greater than 0",
        ),
        ("    weight: 1", "    weight: [1", 24, "rubric: invalid YAML"),
        ("  - id: because", "  - id: Because!", 21, "key_points.0.id: String should match pattern"),
        (
            '    any_of: ["because"]',
            "    any_of: []",
            24,
            "any_of: List should have at least 1 item",
        ),
        ('    any_of: ["why not"]', '    any_of: ["..."]', 26, "has no words"),
        ("    demo: 1", "    demo: 2", 17, "name a demo this question does not have"),
        (
            "    demo: 1",
            "    demo: 1\n    voids: [nothing]",
            20,
            "voids unknown key point(s): nothing",
        ),
        ('```python\nprint("because")\n```', "no code", 32, "needs one ```python block"),
        ('contains: ["because"]', "contain: [x]", 39, "contain: Extra inputs are not permitted"),
        ('contains: ["because"]', 'matches: ["("]', 39, "bad regular expression"),
    ],
)
def test_each_kind_of_error_names_its_line(old: str, new: str, line: int, message: str) -> None:
    assert old in VALID
    errors = errors_for(VALID.replace(old, new, 1))
    assert any(found_line == line and message in found for found_line, found in errors), errors


def test_missing_sections_are_each_reported() -> None:
    text = VALID.split("## Question")[0] + "## Question\n\nWhy?\n"
    messages = [message for _, message in errors_for(text)]
    assert "missing section '## Reference answer'" in messages
    assert "missing section '## Rubric'" in messages


def test_non_utf8_file_names_the_line() -> None:
    raw = VALID.encode().replace(b"Because.", b"Caf\xe9.")
    assert errors_for(raw) == [(15, "not valid UTF-8 text")]


def test_unclosed_front_matter_is_reported() -> None:
    assert errors_for("---\nid: x\n") == [(1, "front matter is not closed by '---'")]


def test_a_bad_file_does_not_stop_the_others(tmp_path: Path) -> None:
    (tmp_path / "12-good.md").write_text(VALID)
    (tmp_path / "13-bad.md").write_text(VALID.replace("number: 12", "number: x"))
    other = VALID.replace("7d3c8a9e-1111", "7d3c8a9e-2222")
    (tmp_path / "14-same-number.md").write_text(other)
    bank = load_folder(tmp_path)
    assert list(bank.questions) == [12]
    assert [(e.path.name, e.line) for e in bank.errors] == [
        ("13-bad.md", 3),
        ("14-same-number.md", 2),
    ]
    assert "number 12 is already used by 12-good.md" in str(bank.errors[1])


def test_duplicate_ids_are_refused(tmp_path: Path) -> None:
    (tmp_path / "a.md").write_text(VALID)
    (tmp_path / "b.md").write_text(VALID.replace("number: 12", "number: 13"))
    bank = load_folder(tmp_path)
    assert list(bank.questions) == [12]
    assert "is already used by a.md" in str(bank.errors[0])


def test_a_missing_folder_is_an_error(tmp_path: Path) -> None:
    bank = load_folder(tmp_path / "nowhere")
    assert bank.errors and "not a folder" in bank.errors[0].message


def test_the_bank_finds_questions_by_uuid_and_in_order(tmp_path: Path) -> None:
    for number, uid in ((12, "7d3c8a9e-1111"), (3, "7d3c8a9e-2222"), (40, "7d3c8a9e-3333")):
        text = VALID.replace("number: 12", f"number: {number}").replace("7d3c8a9e-1111", uid)
        (tmp_path / f"{number}.md").write_text(text.replace("points: 5", f"points: {number}"))
    bank = load_folder(tmp_path)
    first, middle, last = bank.ordered()
    assert [q.number for q in (first, middle, last)] == [3, 12, 40]
    assert bank.ids() == [str(q.id) for q in (first, middle, last)]
    assert bank.by_id(str(middle.id)) is middle
    assert bank.by_id("7d3c8a9e-9999-4a2b-8c3d-0123456789ab") is None
    assert bank.possible_points == 3 + 12 + 40
    assert bank.neighbours(first) == (None, middle)
    assert bank.neighbours(middle) == (first, last)
    assert bank.neighbours(last) == (middle, None)
