"""decode_json is json.loads, faster: the same value or the same ValueError for any body."""

from __future__ import annotations

import json
import math
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dvcschema.templates import decode_json, is_json, parse_json

JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**40), max_value=10**40)  # beyond 64 bits, exactly
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=20,
)


def _outcome(body: str | bytes) -> tuple[str, Any]:
    try:
        value = json.loads(body)
    except ValueError:
        return "error", None
    return "value", value


def _same(a: Any, b: Any) -> bool:
    """Equal, with NaN equal to itself and types compared (1 is not 1.0 here)."""
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a):
        return math.isnan(b)
    if type(a) is not type(b):
        return False
    if isinstance(a, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    return bool(a == b)


@settings(max_examples=300)
@given(JSON_VALUES, st.booleans(), st.sampled_from(["utf-8", "utf-16", "utf-32"]))
def test_any_document_decodes_as_json_loads_does(value: Any, ascii: bool, encoding: str) -> None:
    text = json.dumps(value, ensure_ascii=ascii)
    assert _same(decode_json(text), json.loads(text))
    body = text.encode(encoding)
    assert _same(decode_json(body), json.loads(body))


@settings(max_examples=300)
@given(st.binary(max_size=40) | st.text(max_size=40))
def test_any_bytes_decode_or_fail_as_json_loads_does(body: str | bytes) -> None:
    kind, value = _outcome(body)
    if kind == "error":
        with pytest.raises(ValueError):
            decode_json(body)
    else:
        assert _same(decode_json(body), value)


@pytest.mark.parametrize(
    "body",
    [b"NaN", b"[Infinity, -Infinity]", b"1e400", b'"\\ud800"', b'\xef\xbb\xbf{"x": 1}',
     b'{"a": 1, "a": 2}', b"123456789012345678901234567890", b"-0", b"-0.0",
     '{"tên": "Nguyễn"}'.encode("utf-16")],
)  # fmt: skip
def test_what_strict_json_refuses_still_decodes_as_before(body: bytes) -> None:
    assert _same(decode_json(body), json.loads(body))


@pytest.mark.parametrize("body", [b"", b"{", b"[1,]", b"\xff", b"{'a': 1}", b"nul"])
def test_what_is_not_json_is_a_value_error_and_parse_json_says_so(body: bytes) -> None:
    with pytest.raises(ValueError):
        decode_json(body)
    assert not is_json(parse_json(body))
