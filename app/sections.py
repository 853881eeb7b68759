"""Split a markdown body into its ``##`` sections and fenced code blocks, with line numbers.

Only two block rules matter for the structure of a question file, ATX headings and fenced
code (CommonMark's rules for both), so a line scanner does the job about thirty times
faster than a full markdown parse; markdown-it still renders what learners see.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

FENCE_OPEN = re.compile(r"^( {0,3})(`{3,}|~{3,})(.*)$")
H2 = re.compile(r"^ {0,3}##(?:[ \t]+(.*?))?(?:[ \t]+#+)?[ \t]*$")


@dataclass(frozen=True, slots=True)
class Fence:
    """A fenced code block: its language, its text and the line its text starts on."""

    info: str
    content: str
    line: int


@dataclass(slots=True)
class Section:
    """One ``##`` section: its title, heading line, markdown source and fenced blocks."""

    title: str
    line: int
    markdown: str = ""
    fences: list[Fence] = field(default_factory=list)


def split_sections(lines: list[str], first_line: int) -> list[Section]:
    """Return the ``##`` sections of ``lines``, whose first line is ``first_line`` (1-based)."""
    sections: list[Section] = []
    body: list[str] = []
    index = 0
    while index < len(lines):
        line = lines[index]
        opening = FENCE_OPEN.match(line)
        if opening and not (opening.group(2)[0] == "`" and "`" in opening.group(3)):
            end = _fence_end(lines, index, opening.group(2))
            if sections:
                indent = len(opening.group(1))
                content = "".join(_dedent(text, indent) + "\n" for text in lines[index + 1 : end])
                info = opening.group(3).strip().split(" ")[0].lower()
                sections[-1].fences.append(Fence(info, content, first_line + index + 1))
            body.extend(lines[index : end + 1])
            index = end + 1
            continue
        heading = H2.match(line)
        if heading:
            _close(sections, body)
            sections.append(Section((heading.group(1) or "").strip(), first_line + index))
        else:
            body.append(line)
        index += 1
    _close(sections, body)
    return sections


def _fence_end(lines: list[str], start: int, marker: str) -> int:
    """Return the index of the closing fence line, or the last line when unclosed."""
    closing = re.compile(rf"^ {{0,3}}{re.escape(marker[0])}{{{len(marker)},}}[ \t]*$")
    for index in range(start + 1, len(lines)):
        if closing.match(lines[index]):
            return index
    return len(lines) - 1


def _dedent(text: str, indent: int) -> str:
    """Remove up to ``indent`` leading spaces, as CommonMark does inside a fence."""
    stripped = len(text) - len(text.lstrip(" "))
    return text[min(indent, stripped) :]


def _close(sections: list[Section], body: list[str]) -> None:
    if sections:
        sections[-1].markdown = "\n".join(body).strip()
    body.clear()
