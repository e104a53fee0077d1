"""Full-width characters typed in a Chinese input method's full-width mode, read as ASCII."""

from __future__ import annotations

import pytest

from prepaid.core.full_width import read_full_width


def test_full_width_digits_are_always_read():
    assert read_full_width("０１２３４５６７８９") == "0123456789"


@pytest.mark.parametrize(
    ("typed", "also", "read"),
    [
        ("３４．５", ".+-", "34.5"),
        ("－１２．０", ".+-", "-12.0"),
        ("＋８６\u3000１３８－００００", "+- ", "+86 138-0000"),
        ("１１０１０５１９４９１２３１００２ｘ", "xX", "11010519491231002x"),
        ("１１０１０５１９４９１２３１００２Ｘ", "xX", "11010519491231002X"),
    ],
)
def test_the_characters_a_field_names_are_read_as_ascii(typed, also, read):
    assert read_full_width(typed, also) == read


@pytest.mark.parametrize(
    ("typed", "also", "read"),
    [
        ("３４．５", "", "34．5"),  # the full-width point only where the field names it
        ("Ｅ１２３", "xX", "Ｅ123"),  # a full-width letter the field does not name
        ("１\u3000２", "+-", "1\u30002"),  # the ideographic space only where a space is named
        ("٣٤", ".+-", "٣٤"),  # Arabic-Indic digits
        ("²½", ".+-", "²½"),
    ],
)
def test_anything_else_is_left_as_typed(typed, also, read):
    assert read_full_width(typed, also) == read


def test_ascii_text_is_unchanged():
    assert read_full_width("+86 138-0000.5 xX", ".+- xX") == "+86 138-0000.5 xX"
