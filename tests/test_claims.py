"""The checks behind learners' claims, as pure functions."""

from __future__ import annotations

import pytest

from app.claims import clean_justification
from app.validation import InvalidText


def test_justifications_are_one_short_line() -> None:
    assert clean_justification("  I said both hold 0..9.  ") == "I said both hold 0..9."
    assert len(clean_justification("é" * 200)) == 200
    for bad, message in [
        ("", "Write one line"),
        ("x" * 201, "201 characters long; the limit is 200"),
        ("one\ntwo", "single line"),
        ("bell\x07", "control characters"),
        ("sep\u2028arator", "single line"),
    ]:
        with pytest.raises(InvalidText, match=message):
            clean_justification(bad)
