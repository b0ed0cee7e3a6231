"""Figures that show what they claim: a one-point curve is visible, a loss-rate chart says so."""

from sfdpo_helpers import plots


def captured(monkeypatch):
    figures = []
    monkeypatch.setattr(plots, "save", lambda fig, path: figures.append(fig))
    return figures


def test_a_curve_of_one_point_is_drawn_with_a_marker(monkeypatch, tmp_path):
    figures = captured(monkeypatch)
    plots.overlay({"rsdpo1": [{"step": 6, "win_rate": 0.4}]}, "win_rate", tmp_path / "x.png")
    plots.curves([{"step": 6, "win_rate": 0.4}], ["win_rate"], tmp_path / "y.png")
    for fig in figures:
        (line,) = fig.axes[0].lines
        assert line.get_marker() not in (None, "None", "")  # a line of one point has no length


def test_win_rate_bars_label_what_the_rate_is(monkeypatch, tmp_path):
    figures = captured(monkeypatch)
    rows = [{"name": "math", "rate": 0.6, "ci_low": 0.4, "ci_high": 0.8}]
    plots.win_rate_bars(rows, tmp_path / "z.png", "loss rate by category", ylabel="loss rate")
    plots.win_rate_bars(rows, tmp_path / "w.png")
    assert [f.axes[0].get_ylabel() for f in figures] == ["loss rate", "win rate"]
