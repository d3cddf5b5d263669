"""Generated copy ends a sentence with one stop, whatever the quoted name ends with."""

from __future__ import annotations

import pytest

from klaviyo_analytics.rules.sentences import end_sentence


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a note from Acme Outdoor Co.", "a note from Acme Outdoor Co."),
        ("a note from Globex", "a note from Globex."),
        ("a note from Yahoo!", "a note from Yahoo!"),
        ("is it 'Really?'", "is it 'Really?'"),
        ("a note from Acme  ", "a note from Acme."),
        ("wait…", "wait…"),
    ],
)
def test_one_stop_at_the_end(text: str, expected: str) -> None:
    assert end_sentence(text) == expected
    assert ".." not in end_sentence(text)
