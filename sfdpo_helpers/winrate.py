"""Pairwise win rates with bootstrap confidence intervals.

Per prompt, model A's score is compared with model B's: a win counts 1, a
tie 1/2 and a loss 0; the win rate is the mean over prompts. Two scores tie
when they are equal or differ by at most ``tie_tol`` (default 1e-9, via
``math.isclose(a, b, rel_tol=0, abs_tol=tie_tol)``), so float noise from a
judge does not decide a comparison. The 95% interval is a percentile (or BCa)
bootstrap over prompts from ``scipy.stats.bootstrap``; when every outcome is
the same (or there is one prompt) the interval collapses to the rate instead
of scipy's NaN.

A prompt a judge could not score (``nan``, e.g. an input the API judge's endpoint refused) is left out of
the comparison and counted in ``skipped``, which the tables and the verdict show.

Ties pull every win rate towards ½, so each result also carries the *decisive* view: the share of
prompts that were not ties, the win share among decisive prompts, and the two-sided sign test
(binomial test of wins against losses, ties dropped). :func:`minimum_detectable_effect` says how far
from ½ a win rate must be for ``n`` prompts to detect it; an experiment that finds nothing reports it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

__all__ = [
    "WinRate",
    "win_rate",
    "compare",
    "minimum_detectable_effect",
    "verdict",
    "to_markdown",
    "PairedDifference",
    "paired_difference",
    "mcnemar",
]


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
    skipped: int = 0  # prompts left out: a score was nan (the judge could not score an answer)

    @property
    def decisive(self) -> int:
        """Prompts that were not ties."""
        return self.wins + self.losses

    @property
    def decisive_rate(self) -> float:
        """Wins among decisive prompts (NaN when every prompt tied)."""
        return self.wins / self.decisive if self.decisive else float("nan")

    @property
    def sign_test_p(self) -> float:
        """Two-sided sign test: P(a split of decisive prompts at least this uneven | no difference)."""
        from scipy.stats import binomtest

        return float(binomtest(self.wins, self.decisive, 0.5).pvalue) if self.decisive else 1.0

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
            "decisive_share": self.decisive / self.n,
            "decisive_win_rate": self.decisive_rate,
            "sign_test_p": self.sign_test_p,
            "skipped": self.skipped,
        }


def _outcomes(scores_a: Sequence[float], scores_b: Sequence[float], tie_tol: float) -> list[float | None]:
    """Per prompt 1 (A wins), ½ (tie), 0 (B wins), or None when either score is nan (not scored)."""
    if len(scores_a) != len(scores_b):
        raise ValueError(f"scores_a has {len(scores_a)} items but scores_b has {len(scores_b)}")
    out = []
    for a, b in zip(scores_a, scores_b):
        a, b = float(a), float(b)
        if math.isnan(a) or math.isnan(b):
            out.append(None)
        elif a == b or math.isclose(a, b, rel_tol=0.0, abs_tol=tie_tol):
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
    A prompt with a ``nan`` score on either side is left out and counted in ``skipped``.
    """
    all_outcomes = _outcomes(scores_a, scores_b, tie_tol)
    if not all_outcomes:
        raise ValueError("no comparisons: the score lists are empty")
    outcomes = [o for o in all_outcomes if o is not None]
    if not outcomes:
        raise ValueError(f"no comparisons: every one of the {len(all_outcomes)} prompts has a nan score (not judged)")
    result = _summary(outcomes, n_resamples, seed, method, model=model, baseline=baseline)
    result.skipped = len(all_outcomes) - len(outcomes)
    if categories is not None:
        if len(categories) != len(all_outcomes):
            raise ValueError(f"categories has {len(categories)} items but the scores have {len(all_outcomes)}")
        groups: dict[str, list[float]] = {}
        for label, outcome in zip(categories, all_outcomes):
            if outcome is not None:
                groups.setdefault(str(label), []).append(outcome)
        result.by_category = {
            label: _summary(group, n_resamples, seed, method, model=model, baseline=baseline)
            for label, group in sorted(groups.items())
        }
    return result


def compare(
    scores: Mapping[str, Sequence[float]],
    comparisons: Sequence[tuple[str, str]],
    categories: Sequence[str] | None = None,
    seed: int = 0,
    **kwargs,
) -> list[WinRate]:
    """Win rates for each ``(model, baseline)`` of ``comparisons``; ``scores[name]`` lists one score per prompt."""
    missing = sorted({name for pair in comparisons for name in pair} - set(scores))
    if missing:
        raise ValueError(f"no scores for {missing}; scored models: {sorted(scores)}")
    return [
        win_rate(scores[a], scores[b], categories, seed=seed, model=a, baseline=b, **kwargs) for a, b in comparisons
    ]


def minimum_detectable_effect(n: int, tie_share: float = 0.0, alpha: float = 0.05, power: float = 0.8) -> float:
    """The smallest distance of a win rate from ½ that ``n`` prompts detect (two-sided ``alpha``, ``power``).

    An outcome is 1, ½ or 0; under "no difference" its mean is ½ and, with a share ``t`` of ties, its
    variance is ``(1 − t)/4``. A normal approximation gives
    ``MDE = (z_{1−α/2} + z_{power}) · sqrt((1 − t)/4) / sqrt(n)``: at n = 64 without ties 0.175 (win
    rates below 0.675 go unseen), with 60% ties 0.111.
    """
    from scipy.stats import norm

    if n <= 0 or not 0 <= tie_share <= 1:
        raise ValueError(f"need n > 0 and 0 <= tie_share <= 1, got n={n}, tie_share={tie_share}")
    if tie_share == 1:
        return math.inf  # every prompt tied: no win rate can be told from ½
    return float((norm.ppf(1 - alpha / 2) + norm.ppf(power)) * math.sqrt((1 - tie_share) / 4) / math.sqrt(n))


def verdict(result: WinRate) -> str:
    """One sentence a notebook can print: which model is better, or that no difference was detected and how
    large a difference this many prompts could have seen (the minimum detectable effect at the observed ties)."""
    rate = f"{result.model} vs {result.baseline}: {result.rate:.3f} [{result.ci_low:.3f}, {result.ci_high:.3f}]"
    skipped = f", {result.skipped} prompt(s) not judged, left out" if result.skipped else ""
    counts = (
        f"(W/T/L {result.wins}/{result.ties}/{result.losses}, n = {result.n}{skipped}, "
        f"sign test p = {result.sign_test_p:.2g})"
    )
    if result.ci_low > 0.5:
        return f"{rate} {counts}: {result.model} is better (the 95% CI lies above ½)."
    if result.ci_high < 0.5:
        return f"{rate} {counts}: {result.baseline} is better (the 95% CI lies below ½)."
    tie_share = result.ties / result.n
    mde = minimum_detectable_effect(result.n, tie_share)
    if mde >= (1 - tie_share) / 2:  # even winning every decisive prompt would not reach ½ ± mde
        return (
            f"{rate} {counts}: no difference detected. With {tie_share:.0%} ties no win rate could be told from ½ at "
            f"n = {result.n} (the most a win rate can move is ±{(1 - tie_share) / 2:.3f}); the ties, not the models, "
            "decide this comparison."
        )
    return (
        f"{rate} {counts}: no difference detected. With n = {result.n} and {tie_share:.0%} ties "
        f"this comparison sees win rates beyond ½ ± {mde:.3f} (α = 0.05, power 0.8); a smaller effect may exist."
    )


def to_markdown(results: Sequence[WinRate] | WinRate, digits: int = 3) -> str:
    """A Markdown table of win rates, with the decisive share and the sign test beside the rate (and a "not
    judged" column of skipped prompts when any result has some)."""
    import pandas as pd

    if isinstance(results, WinRate):
        results = [results]
    rows = [
        {
            "model": r.model,
            "vs": r.baseline,
            "win rate": f"{r.rate:.{digits}f}",
            "95% CI": f"[{r.ci_low:.{digits}f}, {r.ci_high:.{digits}f}]",
            "W / T / L": f"{r.wins} / {r.ties} / {r.losses}",
            "n": r.n,
            "decisive": f"{r.decisive / r.n:.0%}",
            "wins of decisive": "–" if not r.decisive else f"{r.decisive_rate:.{digits}f}",
            "sign test p": f"{r.sign_test_p:.3g}",
            **({"not judged": r.skipped} if any(x.skipped for x in results) else {}),
        }
        for r in results
    ]
    return pd.DataFrame(rows).to_markdown(index=False, disable_numparse=True)  # keep "1.000" as written


# --- paired measures: the mean score difference and the task accuracy difference ---------------------------


@dataclass
class PairedDifference:
    """The mean of ``a_i − b_i`` over prompts with its 95% paired-bootstrap CI, and (when tasks are given) the
    task accuracies of A and B with McNemar's exact test on the prompts where exactly one of them is right."""

    mean: float
    ci_low: float
    ci_high: float
    n: int
    model: str = "A"
    baseline: str = "B"
    accuracy_a: float = float("nan")
    accuracy_b: float = float("nan")
    only_a_right: int = 0
    only_b_right: int = 0
    mcnemar_p: float = float("nan")

    def as_row(self) -> dict:
        return {
            "model": self.model,
            "vs": self.baseline,
            "mean difference": self.mean,
            "ci_low": self.ci_low,
            "ci_high": self.ci_high,
            "n": self.n,
            f"task accuracy {self.model}": self.accuracy_a,
            f"task accuracy {self.baseline}": self.accuracy_b,
            "only A right / only B right": f"{self.only_a_right} / {self.only_b_right}",
            "McNemar p": self.mcnemar_p,
        }

    def sentence(self) -> str:
        """One line: the difference, its CI and what it says; the task accuracies and McNemar's p."""
        better = self.model if self.ci_low > 0 else self.baseline if self.ci_high < 0 else ""
        side = f"{better} is better" if better else "no difference detected"
        text = (f"{self.model} − {self.baseline}: mean score difference {self.mean:+.3f} "
                f"[{self.ci_low:+.3f}, {self.ci_high:+.3f}] over n = {self.n} prompts "
                f"({side}, 95% paired bootstrap)")  # fmt: skip
        if not math.isnan(self.accuracy_a):
            text += (f"; task accuracy {self.accuracy_a:.3f} vs {self.accuracy_b:.3f} "
                     f"({self.only_a_right} prompts only {self.model} right, {self.only_b_right} only {self.baseline}; "
                     f"McNemar p = {self.mcnemar_p:.2g})")  # fmt: skip
        return text + "."


def mcnemar(right_a: Sequence[int], right_b: Sequence[int]) -> tuple[int, int, float]:
    """McNemar's exact test of two models' right/wrong answers on the same prompts: ``(b, c, p)`` with ``b`` the
    prompts only A got right, ``c`` those only B got right, and ``p`` the two-sided binomial test of ``b`` against
    ``b + c`` at ½ (1.0 when ``b + c = 0``): prompts both got right or both wrong say nothing about which is better."""
    from scipy.stats import binomtest

    if len(right_a) != len(right_b):
        raise ValueError(f"right_a has {len(right_a)} items but right_b has {len(right_b)}")
    b = sum(1 for x, y in zip(right_a, right_b) if x and not y)
    c = sum(1 for x, y in zip(right_a, right_b) if y and not x)
    return b, c, float(binomtest(b, b + c, 0.5).pvalue) if b + c else 1.0


def paired_difference(
    scores_a: Sequence[float],
    scores_b: Sequence[float],
    tasks_a: Sequence[int] | None = None,
    tasks_b: Sequence[int] | None = None,
    n_resamples: int = 2000,
    seed: int = 0,
    *,
    model: str = "A",
    baseline: str = "B",
) -> PairedDifference:
    """Mean of ``scores_a[i] − scores_b[i]`` with a 95% percentile bootstrap CI that resamples prompts (each
    prompt keeps its pair of scores: scores compare within a prompt only). With ``tasks_a`` / ``tasks_b`` (1 right,
    0 wrong per prompt), also both task accuracies and :func:`mcnemar`."""
    import numpy as np

    if len(scores_a) != len(scores_b) or not len(scores_a):
        raise ValueError(f"need two score lists of one non-zero length, got {len(scores_a)} and {len(scores_b)}")
    diffs = np.asarray(scores_a, dtype=float) - np.asarray(scores_b, dtype=float)
    rng = np.random.default_rng(seed)
    means = diffs[rng.integers(0, len(diffs), size=(n_resamples, len(diffs)))].mean(axis=1)
    low, high = (float(v) for v in np.percentile(means, [2.5, 97.5]))
    result = PairedDifference(float(diffs.mean()), low, high, len(diffs), model=model, baseline=baseline)
    if tasks_a is not None and tasks_b is not None:
        result.only_a_right, result.only_b_right, result.mcnemar_p = mcnemar(tasks_a, tasks_b)
        result.accuracy_a, result.accuracy_b = float(np.mean(tasks_a)), float(np.mean(tasks_b))
    return result
