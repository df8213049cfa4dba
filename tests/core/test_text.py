"""Text PostgreSQL can store: the one check, used wherever text from outside is stored or
looked up."""

import pytest

from core.text import holds_unstorable_text, is_storable_text


@pytest.mark.parametrize("text", ["", "plain", "é 𝄞 \u2028 \x01 \x7f", "\ufeff"])
def test_unicode_text_is_storable(text):
    assert is_storable_text(text)


@pytest.mark.parametrize("text", ["a\x00b", "\ud800", "x\udfff", "\udc00\ud800"])
def test_nul_and_lone_surrogates_are_not(text):
    assert not is_storable_text(text)


@pytest.mark.parametrize(
    "value",
    [{"a": ["b", {"c": "\x00"}]}, {"\ud800": 1}, ["ok", "\udfff"], "\x00"],
    ids=["deep-value", "object-name", "array-item", "string"],
)
def test_a_json_value_holding_unstorable_text_anywhere_is_found(value):
    assert holds_unstorable_text(value)


@pytest.mark.parametrize("value", [{"a": ["b", 1, None, 2.5, True]}, [], "é", 0, None])
def test_a_json_value_of_storable_text_is_not(value):
    assert not holds_unstorable_text(value)
