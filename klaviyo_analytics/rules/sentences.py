"""Ending a sentence that ends in someone's text: one stop, never two.

Generated copy often closes a sentence right after a name it quotes ("a note from Acme Outdoor
Co."). When the name already ends the sentence — a period, "!", "?", "…" — another stop would read
"Co..". :func:`end_sentence` adds the stop only when the text has none.
"""

from __future__ import annotations

# Marks that already end a sentence (a closing quote or bracket after one still counts).
ENDINGS = (".", "!", "?", "…")
_CLOSERS = "\"')]»”’"


def end_sentence(text: str, stop: str = ".") -> str:
    """``text`` ending in exactly one sentence stop: ``stop`` is added only if none is there."""
    trimmed = text.rstrip()
    if trimmed.rstrip(_CLOSERS).endswith(ENDINGS):
        return trimmed
    return trimmed + stop
