"""The reveal policy and its settings form, as pure functions."""

from __future__ import annotations

import pytest

from app.policy import RevealPolicy, parse_reveal_form
from app.validation import InvalidText


def test_reveal_policies() -> None:
    first = RevealPolicy()
    assert (first.shows(0), first.shows(1)) == (False, True)
    after = RevealPolicy(mode="after", after=3)
    assert [after.shows(n) for n in (1, 2, 3, 4)] == [False, False, True, True]
    assert "after 3 attempts" in after.waiting_message(1) and "2 more" in after.waiting_message(1)
    held = RevealPolicy(mode="released")
    assert not held.shows(50) and "releases it" in held.waiting_message(50)
    assert RevealPolicy(mode="released", released=True).shows(1)


def test_the_reveal_form_is_checked() -> None:
    assert parse_reveal_form("after", " 4 ", False) == RevealPolicy("after", 4, False)
    assert parse_reveal_form("released", "2", True) == RevealPolicy("released", 2, True)
    for mode, after in [("after", "0"), ("after", "-1"), ("after", "2.5"), ("first", "")]:
        with pytest.raises(InvalidText, match="whole number from 1 to 100"):
            parse_reveal_form(mode, after, False)
    with pytest.raises(InvalidText, match="Choose when"):
        parse_reveal_form("never", "2", False)
