"""Pairwise win rates with bootstrap confidence intervals.

Per prompt, model A's score is compared with model B's: a win counts 1, a
tie 1/2 and a loss 0; the win rate is the mean over prompts. Two scores tie
when they are equal or differ by at most ``tie_tol`` (default 1e-9, via
``math.isclose(a, b, rel_tol=0, abs_tol=tie_tol)``), so float noise from a
judge does not decide a comparison. The 95% interval is a percentile (or BCa)
bootstrap over prompts from ``scipy.stats.bootstrap``; when every outcome is
the same (or there is one prompt) the interval collapses to the rate instead
of scipy's NaN.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

__all__ = ["WinRate", "win_rate", "paired_win_rates", "to_markdown"]


@dataclass
class WinRate:
    """A win rate of ``model`` against ``baseline`` with its 95% bootstrap CI."""

    rate: float
    n: int
    ci_low: float
    ci_high: float
    wins: int
    ties: int
    losses: int
    by_category: dict[str, WinRate] = field(default_factory=dict)
    model: str = "A"
    baseline: str = "B"

    def as_row(self) -> dict:
        """A flat dict for tables (by_category left out)."""
        return {
            "model": self.model,
            "baseline": self.baseline,
            "win_rate": self.rate,
            "ci_low": self.ci_low,
            "ci_high": self.ci_high,
            "wins": self.wins,
            "ties": self.ties,
            "losses": self.losses,
            "n": self.n,
        }


def _outcomes(scores_a: Sequence[float], scores_b: Sequence[float], tie_tol: float) -> list[float]:
    if len(scores_a) != len(scores_b):
        raise ValueError(f"scores_a has {len(scores_a)} items but scores_b has {len(scores_b)}")
    out = []
    for i, (a, b) in enumerate(zip(scores_a, scores_b)):
        a, b = float(a), float(b)
        for name, value in (("scores_a", a), ("scores_b", b)):
            if math.isnan(value):
                raise ValueError(f"{name}[{i}] is NaN")
        if a == b or math.isclose(a, b, rel_tol=0.0, abs_tol=tie_tol):
            out.append(0.5)
        else:
            out.append(1.0 if a > b else 0.0)
    return out


def _bootstrap_ci(outcomes: list[float], n_resamples: int, seed: int, method: str) -> tuple[float, float]:
    import numpy as np
    from scipy import stats

    data = np.asarray(outcomes, dtype=float)
    rate = float(data.mean())
    if len(data) < 2 or np.all(data == data[0]):
        return rate, rate
    result = stats.bootstrap(
        (data,),
        lambda x, axis: np.mean(x, axis=axis),
        vectorized=True,
        n_resamples=n_resamples,
        confidence_level=0.95,
        method=method,
        rng=np.random.default_rng(seed),
    )
    low, high = (float(v) for v in (result.confidence_interval.low, result.confidence_interval.high))
    if math.isnan(low) or math.isnan(high):
        return rate, rate
    return max(0.0, min(low, rate)), min(1.0, max(high, rate))


def _summary(outcomes: list[float], n_resamples: int, seed: int, method: str, **names) -> WinRate:
    low, high = _bootstrap_ci(outcomes, n_resamples, seed, method)
    return WinRate(
        rate=sum(outcomes) / len(outcomes),
        n=len(outcomes),
        ci_low=low,
        ci_high=high,
        wins=outcomes.count(1.0),
        ties=outcomes.count(0.5),
        losses=outcomes.count(0.0),
        **names,
    )


def win_rate(
    scores_a: Sequence[float],
    scores_b: Sequence[float],
    categories: Sequence[str] | None = None,
    n_resamples: int = 2000,
    seed: int = 0,
    *,
    method: str = "percentile",
    tie_tol: float = 1e-9,
    model: str = "A",
    baseline: str = "B",
) -> WinRate:
    """Win rate of A over B per prompt (win 1, tie 1/2, loss 0) with a 95% bootstrap CI.

    ``scores_a[i]`` and ``scores_b[i]`` are two judges' (or one judge's)
    scores of A's and B's responses to prompt i. With ``categories`` (one
    label per prompt), ``by_category`` holds the same record per label.
    """
    outcomes = _outcomes(scores_a, scores_b, tie_tol)
    if not outcomes:
        raise ValueError("no comparisons: the score lists are empty")
    result = _summary(outcomes, n_resamples, seed, method, model=model, baseline=baseline)
    if categories is not None:
        if len(categories) != len(outcomes):
            raise ValueError(f"categories has {len(categories)} items but the scores have {len(outcomes)}")
        groups: dict[str, list[float]] = {}
        for label, outcome in zip(categories, outcomes):
            groups.setdefault(str(label), []).append(outcome)
        result.by_category = {
            label: _summary(group, n_resamples, seed, method, model=model, baseline=baseline)
            for label, group in sorted(groups.items())
        }
    return result


def paired_win_rates(
    scores_by_model: Mapping[str, Sequence[float]],
    baseline: str,
    categories: Sequence[str] | None = None,
    n_resamples: int = 2000,
    seed: int = 0,
    **kwargs,
) -> list[WinRate]:
    """Win rate of every other model against the same ``baseline``, in dict order."""
    if baseline not in scores_by_model:
        raise ValueError(f"baseline {baseline!r} not among the models {list(scores_by_model)}")
    base = scores_by_model[baseline]
    results = []
    for name, scores in scores_by_model.items():
        if name == baseline:
            continue
        if len(scores) != len(base):
            raise ValueError(f"model {name!r} has {len(scores)} scores but baseline {baseline!r} has {len(base)}")
        results.append(win_rate(scores, base, categories, n_resamples, seed, model=name, baseline=baseline, **kwargs))
    return results


def to_markdown(results: Sequence[WinRate] | WinRate, digits: int = 3) -> str:
    """A Markdown table of win rates (no tabulate needed)."""
    if isinstance(results, WinRate):
        results = [results]
    header = ["model", "vs", "win rate", "95% CI", "W / T / L", "n"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for r in results:
        cells = [
            r.model,
            r.baseline,
            f"{r.rate:.{digits}f}",
            f"[{r.ci_low:.{digits}f}, {r.ci_high:.{digits}f}]",
            f"{r.wins} / {r.ties} / {r.losses}",
            str(r.n),
        ]
        lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    return "\n".join(lines)
