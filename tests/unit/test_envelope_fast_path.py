"""The envelope reader's fast path (mappings/xcart/envelope._plainly_clean) skips the walk for NUL, lone
surrogates, refused numbers and depth only when the text shows none can be there: the verdict is the walk's."""

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mappings.errors import PayloadInvalid
from mappings.xcart import envelope

ENVELOPE = '{"id": "evt_1", "type": "order.created", "created_at": "2026-11-26T10:00:00Z", "store": "s", "data": %s}'


def verdict(text: str):
    try:
        return "ok", envelope.read_json(text)
    except PayloadInvalid as exc:
        return "refused", sorted((e.path, e.message) for e in exc.errors)


def walked(text: str):
    """What the reader answered before the fast path: always the walk."""
    original = envelope._plainly_clean
    envelope._plainly_clean = lambda _text: False
    try:
        return verdict(text)
    finally:
        envelope._plainly_clean = original


@pytest.mark.parametrize("data", [
    '{"name": "Cr\\u00e8me Br\\u00fbl\\u00e9e"}',  # PHP's json_encode escapes: harmless, the fast path
    '{"name": "a\\u0000b"}', '{"name": "\\ud800"}', '{"name": "\\uDBFF"}', '{"\\udc00": 1}',
    '{"name": "\\ud83d\\ude00"}',  # a surrogate pair is one character: accepted either way
    '{"total": NaN}', '{"total": -Infinity}', '{"n": %s}' % ("9" * 4301),
    "[" * 64 + "]" * 64, "[" * 65 + "]" * 65,
    '{"note": "%s"}' % ("[" * 70),  # brackets in a string: walked, and accepted
    '{"path": "C:\\\\u0000"}',  # an escaped backslash before u0000: text, not a NUL (walked, and accepted)
])
def test_the_fast_path_answers_as_the_walk(data):
    text = ENVELOPE % data
    assert verdict(text) == walked(text)


def test_a_clean_body_with_escaped_accents_takes_the_fast_path():
    assert envelope._plainly_clean(ENVELOPE % '{"name": "Cr\\u00e8me"}')
    assert not envelope._plainly_clean(ENVELOPE % '{"name": "\\u0000"}')
    assert not envelope._plainly_clean("x\ud800")  # a str handed over with a lone surrogate in it


@settings(max_examples=300, deadline=None)
@given(st.recursive(st.none() | st.booleans() | st.integers() | st.text() | st.floats(),
                    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
                    max_leaves=30))
def test_any_document_gets_the_walks_verdict(data):
    text = ENVELOPE % json.dumps(data, allow_nan=True)
    assert verdict(text) == walked(text)
