"""Turn question markdown and learner answers into safe HTML, server-side."""

from __future__ import annotations

from functools import lru_cache

from markdown_it import MarkdownIt
from markupsafe import Markup, escape
from pygments import highlight
from pygments.formatters import HtmlFormatter
from pygments.lexers import get_lexer_by_name
from pygments.util import ClassNotFound

from app.grading import Evidence

# Styles whose every token keeps 4.5:1 contrast on our code background (WCAG AA): the
# presenter view shows code unfolded, where axe checks it.
LIGHT_STYLE, DARK_STYLE = "xcode", "one-dark"
_formatter = HtmlFormatter(cssclass="highlight", wrapcode=True)


def _highlight_code(code: str, language: str, _attrs: str) -> str:
    try:
        lexer = get_lexer_by_name(language or "text")
    except ClassNotFound:
        lexer = get_lexer_by_name("text")
    return str(highlight(code, lexer, _formatter))


# Raw HTML in question files is not rendered: authors write markdown, readers get no surprises.
_markdown = MarkdownIt("commonmark", {"html": False, "highlight": _highlight_code}).enable("table")


@lru_cache(maxsize=4096)
def render_markdown(source: str) -> Markup:
    """Render markdown to HTML with highlighted code blocks."""
    return Markup(_markdown.render(source))  # noqa: S704 - markdown-it escapes, html is off


@lru_cache(maxsize=1024)
def render_code(code: str, language: str = "python") -> Markup:
    """Highlight a code snippet."""
    return Markup(_highlight_code(code, language, ""))  # noqa: S704 - pygments escapes


def mark_answer(text: str, spans: list[Evidence]) -> Markup:
    """Escape a learner's answer, wrapping each matched span in ``<mark>``."""
    parts: list[str] = []
    position = 0
    for span in sorted(spans, key=lambda s: s.start):
        if span.start < position:
            continue
        parts.append(str(escape(text[position : span.start])))
        title = escape(f"matched “{span.phrase}”")
        parts.append(f'<mark title="{title}">{escape(text[span.start : span.end])}</mark>')
        position = span.end
    parts.append(str(escape(text[position:])))
    return Markup("".join(parts))  # noqa: S704 - every piece above is escaped


def highlight_css() -> str:
    """Return pygments CSS for the light theme and, under a media query, the dark one."""
    light = HtmlFormatter(style=LIGHT_STYLE).get_style_defs(".highlight")  # type: ignore[no-untyped-call]
    dark = HtmlFormatter(style=DARK_STYLE).get_style_defs(".highlight")  # type: ignore[no-untyped-call]
    return f"{light}\n@media (prefers-color-scheme: dark) {{\n{dark}\n}}\n"
