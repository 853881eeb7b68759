"""QR codes for the links a room opens on their phones (the follow-along, a live round)."""

from __future__ import annotations

from functools import lru_cache

import segno
from markupsafe import Markup


@lru_cache(maxsize=16)
def qr_svg(url: str, title: str) -> Markup:
    """Draw ``url`` as inline SVG, dark on white in either theme, sized by the page's CSS.

    Medium error correction survives a projector's glare; ``title`` is the code's text
    alternative (segno escapes it).
    """
    code = segno.make(url, error="m")
    svg = code.svg_inline(
        scale=1, omitsize=True, dark="#000", light="#fff", svgclass="qr", title=title
    )
    return Markup(svg)  # noqa: S704 - segno writes the SVG and escapes the title
