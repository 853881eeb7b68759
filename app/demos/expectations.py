"""Check a demo's outcome against what its question file says the output must show."""

from __future__ import annotations

import re

from app.demos.protocol import FINISHED, RunOutcome
from app.schema import DemoExpectation


def check_expectations(outcome: RunOutcome, expect: DemoExpectation | None) -> list[str]:
    """Return what the outcome fails to show; an empty list means the claims hold."""
    if outcome.status not in FINISHED:
        return [f"the run did not finish: {outcome.message}"]
    if expect is None:
        return [] if outcome.error is None else [_raised(outcome)]
    failures: list[str] = []
    raised = outcome.error.type if outcome.error else None
    if expect.raises and raised != expect.raises:
        failures.append(
            f"expected it to raise {expect.raises}, but it raised {raised or 'nothing'}"
        )
    elif not expect.raises and outcome.error is not None:
        failures.append(_raised(outcome))
    text = "\n".join(part for part in (outcome.stdout, outcome.stderr, outcome.value) if part)
    failures += [f"the output lacks {s!r}" for s in expect.contains if s not in text]
    failures += [f"the output shows {s!r}" for s in expect.not_contains if s in text]
    failures += [
        f"the output does not match /{pattern}/"
        for pattern in expect.matches
        if not re.search(pattern, text, re.MULTILINE)
    ]
    return failures


def _raised(outcome: RunOutcome) -> str:
    error = outcome.error
    assert error is not None
    return f"it raised {error.type}: {error.message}"
