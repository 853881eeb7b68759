"""A snippet compiled as a notebook cell, and its value and errors described."""

from __future__ import annotations

import pytest

from app.demos.snippet import MAX_VALUE_CHARS, compile_snippet, format_error, safe_repr


def run(code: str) -> object:
    """Run a snippet as the worker does; return the value of its last expression."""
    body, last = compile_snippet(code)
    namespace: dict[str, object] = {}
    exec(body, namespace)
    return eval(last, namespace) if last is not None else None


def test_the_last_bare_expression_is_the_value() -> None:
    assert run("x = 6\nx * 7") == 42
    assert run("x = 6") is None
    assert run("") is None


def test_an_error_shows_only_the_snippets_frames() -> None:
    with pytest.raises(ZeroDivisionError) as raised:
        run("def inner():\n    return 1 / 0\n\ninner()")
    error = format_error(raised.value)
    assert (error.type, error.message) == ("ZeroDivisionError", "division by zero")
    assert 'File "<demo>", line 2, in inner' in error.traceback
    assert "snippet.py" not in error.traceback and __file__ not in error.traceback


def test_a_syntax_error_names_the_line() -> None:
    with pytest.raises(SyntaxError) as raised:
        compile_snippet("x = (\n")
    assert format_error(raised.value).type == "SyntaxError"


def test_values_are_capped_and_a_broken_repr_is_survived() -> None:
    class Broken:
        def __repr__(self) -> str:
            raise RuntimeError("no")

    assert safe_repr(Broken()) == "<repr failed: RuntimeError: no>"
    assert len(safe_repr("x" * (2 * MAX_VALUE_CHARS))) == MAX_VALUE_CHARS + 1
