"""The checks behind score overrides, as pure functions."""

from __future__ import annotations

import pytest

from app.overrides import clean_comment
from app.validation import InvalidText


def test_comments_keep_line_breaks_and_refuse_control_characters() -> None:
    assert clean_comment("  Good.\r\nSee line 2.  ", "comment", True) == "Good.\nSee line 2."
    assert clean_comment("", "note", False) == ""
    with pytest.raises(InvalidText, match="Write a comment"):
        clean_comment(" \n ", "comment", True)
    with pytest.raises(InvalidText, match="control characters"):
        clean_comment("a\x00b", "note", False)
    with pytest.raises(InvalidText, match="at most 1000"):
        clean_comment("x" * 1001, "comment", True)
