"""Server-side SVG charts: well-formed, exact, integer geometry, no float formatting."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import pytest

from prepaid.core.money import format_centi, format_fen
from prepaid.reports import charts

SVG = "{http://www.w3.org/2000/svg}"


@pytest.mark.parametrize(
    ("value", "top"),
    [(0, 4), (1, 4), (4, 4), (5, 8), (399, 400), (401, 800), (123_456, 200_000), (7_999, 8_000)],
)
def test_nice_ceiling(value, top):
    assert charts.nice_ceiling(value) == top


def test_bar_chart_draws_one_exact_bar_per_value():
    values = [0, 10_000, 20_000, 5_000, 40_000]
    labels = [f"11-{d:02d}" for d in range(1, 6)]
    svg = charts.bar_chart("每日收款", labels, charts.Series("s", values), format_fen, "元")
    root = ET.fromstring(svg)
    rects = root.findall(f"{SVG}rect")
    assert len(rects) == len(values)
    heights = [int(r.get("height").replace(".", "")) for r in rects]  # tenths of a pixel
    assert heights[0] == 0
    # Heights are proportional to the values (up to the one rounding of each bar).
    assert all(
        abs(h * 20_000 - heights[2] * v) <= 20_000 for h, v in zip(heights, values, strict=True)
    )
    titles = [r.find(f"{SVG}title").text for r in rects]
    assert titles[1] == "11-02: 100.00 元"
    assert not re.search(r"\d[eE][-+]?\d", svg)
    assert all(re.fullmatch(r"-?\d+\.\d", r.get("y")) for r in rects)


def test_negative_values_and_long_series():
    svg = charts.bar_chart("t", ["a", "b"], charts.Series("s", [-500, 1_000]), format_centi)
    rects = ET.fromstring(svg).findall(f"{SVG}rect")
    assert rects[0].get("height") not in ("0.0", "-0.0")
    many = list(range(100))
    svg = charts.bar_chart("t", [str(n) for n in many], charts.Series("s", many), str)
    root = ET.fromstring(svg)
    assert root.find(f"{SVG}polyline") is not None
    assert len(root.findall(f"{SVG}circle")) == 100


def test_stacked_charts_are_one_document():
    one = charts.bar_chart("a", ["x"], charts.Series("s", [1]), str)
    two = charts.bar_chart("b", ["x"], charts.Series("s", [2]), str)
    root = ET.fromstring(charts.stack([one, two]))
    inner = root.findall(f"{SVG}svg")
    assert [s.get("y") for s in inner] == ["0", str(charts.HEIGHT)]


def test_text_is_escaped():
    svg = charts.bar_chart("<b>&", ["<x>"], charts.Series("s", [1]), str)
    ET.fromstring(svg)
    assert "<b>" not in svg
