"""The server-drawn charts: accessible, escaped, and sound for empty, single and negative data."""

import pytest

from analytics.charts import Chart

pytestmark = pytest.mark.django_db  # the suite's autouse fixtures empty the shared cache


@pytest.mark.parametrize("kind", ["line", "bar"])
def test_a_chart_says_what_it_shows_and_escapes_what_it_is_given(kind):
    chart = Chart(
        slug="visitors",
        title="Visitors <of> “posts”",
        labels=["<script>alert(1)</script>", "b", "c", "d", "e"],
        series=[("New", [1, 5, 0, 3, 2]), ("Left", [0, 1, 2, 0, 7])],
        kind=kind,
    )
    svg = str(chart.svg())
    assert svg.startswith('<svg class="chart" viewBox="0 0 640 220" role="img"')
    assert 'aria-labelledby="chart-visitors-title"' in svg
    assert (
        '<title id="chart-visitors-title">Visitors &lt;of&gt; “posts” '
        "(New: 11 in all; Left: 10 in all)</title>" in svg
    )
    assert "<script>" not in svg and "&lt;script&gt;" in svg
    assert ">10</text>" in svg  # the top of the axis: a round number above the largest value
    drawn = svg.count("<polyline") if kind == "line" else svg.count("<rect")
    assert drawn == (2 if kind == "line" else 10)
    assert chart.rows()[1] == ("b", [5, 1])


def test_empty_single_and_negative_series_draw_without_error():
    assert "<svg" in str(Chart(slug="a", title="t", labels=[], series=[("x", [])]).svg())
    assert "<polyline" in str(Chart(slug="b", title="t", labels=["d"], series=[("x", [4])]).svg())
    net = Chart(slug="c", title="t", labels=["1", "2"], series=[("Net", [-30, 20])], kind="bar")
    assert ">-30</text>" in str(net.svg())
