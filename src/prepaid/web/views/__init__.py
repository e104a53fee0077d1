"""Views of the operator UI, one module per menu. Thin: parse a form, call one service, render."""
