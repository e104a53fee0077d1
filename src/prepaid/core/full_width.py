"""Full-width characters, read as what they are.

A Chinese input method left in full-width mode types ３４．５ for 34.5, １３８－００００ for
138-0000 and １１０１０５…１２３Ｘ for a resident ID. Each field says which characters besides
the digits it reads this way; everything else (other scripts' digits, ², ½, full-width letters
a field does not name …) is left as typed, for the field to refuse.
"""

from __future__ import annotations

import functools

DIGITS = "0123456789"
# The full-width forms U+FF01–U+FF5E stand this far above their ASCII characters ! … ~.
_FULL_WIDTH_OFFSET = 0xFEE0
IDEOGRAPHIC_SPACE = "\u3000"


def read_full_width(text: str, also: str = "") -> str:
    """``text`` with full-width digits, and the full-width forms of the ASCII characters in
    ``also`` (for a space: the ideographic space), read as those ASCII characters."""
    return text.translate(_table(DIGITS + also))


@functools.cache
def _table(characters: str) -> dict[int, str]:
    table: dict[int, str] = {}
    for char in characters:
        assert char.isascii() and char.isprintable(), char
        full_width = IDEOGRAPHIC_SPACE if char == " " else chr(ord(char) + _FULL_WIDTH_OFFSET)
        table[ord(full_width)] = char
    return table
