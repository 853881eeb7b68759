"""Text as people type it: line endings made one, and the characters no text may hold.

Answers, names, comments, claims, question files and playground code all pass through
here, so a character refused in one is refused alike in the others.
"""

from __future__ import annotations

import re

# Tabs and line breaks are fine in multi-line text; every other control character is not.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
# What else breaks a single line: tabs, line breaks, and Unicode's line and paragraph separators.
_LINE_BREAKING = re.compile(r"[\t\n\r\u2028\u2029]")
# Written as escapes where untrusted text must stay one inert line (a log entry).
_ESCAPED = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
# A lone surrogate cannot be encoded as UTF-8, so it cannot be stored or sent back.
_SURROGATE = re.compile(r"[\ud800-\udfff]")


def normalize_newlines(text: str) -> str:
    """Return text with Windows and old Mac line endings turned into ``\\n``."""
    return text.replace("\r\n", "\n").replace("\r", "\n")


def has_control(text: str, *, single_line: bool = False) -> bool:
    """Tell whether text holds a control character; on a single line, tabs and breaks too."""
    return bool(_CONTROL.search(text) or (single_line and _LINE_BREAKING.search(text)))


def size_problem(text: str, max_chars: int, what: str, empty: str) -> str | None:
    """Say what is wrong with the length of a typed text (``empty`` if blank), or None."""
    if not text.strip():
        return empty
    if len(text) > max_chars:
        return f"The {what} is {len(text):,} characters long; the limit is {max_chars:,}."
    return None


def has_surrogate(text: str) -> bool:
    """Tell whether text holds a lone surrogate, which no UTF-8 storage accepts."""
    return bool(_SURROGATE.search(text))


def escape_control(text: str) -> str:
    """Return text with control characters and line breaks written as escapes (``\\x1b``).

    What remains cannot start a new line, move the cursor or colour a terminal, so a line
    from an untrusted writer cannot pass for another log entry.
    """
    return _ESCAPED.sub(lambda found: found.group().encode("unicode_escape").decode(), text)


def whole_number(text: str) -> int | None:
    """Return the ASCII digits typed as an int, or None for anything else.

    ``str.isdigit`` accepts characters ``int`` refuses (``"²"``), and ``int`` accepts
    digits of other scripts and ``_``: a form wants the plain digits it asked for.
    """
    text = text.strip()
    return int(text) if text.isascii() and text.isdigit() else None
