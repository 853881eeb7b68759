"""A snippet's code compiled as a notebook cell, and its value and errors described.

Sandbox side: the worker runs these beside the snippet, with nothing heavy imported.
"""

from __future__ import annotations

import ast
import traceback
from typing import Any

from app.demos.protocol import (
    MAX_ERROR_MESSAGE_CHARS,
    MAX_ERROR_TYPE_CHARS,
    MAX_TRACEBACK_CHARS,
    MAX_VALUE_CHARS,
    SnippetError,
)

SNIPPET_FILE = "<demo>"


def compile_snippet(code: str) -> tuple[Any, Any]:
    """Compile a snippet; the last bare expression is compiled apart to show its value."""
    tree = ast.parse(code, SNIPPET_FILE)
    last = None
    if tree.body and isinstance(final := tree.body[-1], ast.Expr):
        tree.body.pop()
        last = ast.Expression(final.value)
    body = compile(tree, SNIPPET_FILE, "exec")
    return body, compile(last, SNIPPET_FILE, "eval") if last is not None else None


def format_error(error: BaseException) -> SnippetError:
    """Describe an exception by the snippet's own frames, as a notebook would."""
    summary = traceback.TracebackException.from_exception(error)
    summary.stack = traceback.StackSummary.from_list(
        [frame for frame in summary.stack if frame.filename == SNIPPET_FILE]
    )
    text = "".join(summary.format())
    message = str(error).strip().splitlines()
    return SnippetError(
        type=type(error).__name__[:MAX_ERROR_TYPE_CHARS],
        message=message[0][:MAX_ERROR_MESSAGE_CHARS] if message else "",
        traceback=text[-MAX_TRACEBACK_CHARS:],
    )


def safe_repr(value: Any) -> str:
    """Show a value as ``repr`` does, capped, and survive a ``__repr__`` that raises."""
    try:
        text = repr(value)
    except Exception as error:  # noqa: BLE001 - a broken __repr__ is the snippet's problem
        text = f"<repr failed: {type(error).__name__}: {error}>"
    return text if len(text) <= MAX_VALUE_CHARS else text[:MAX_VALUE_CHARS] + "…"
