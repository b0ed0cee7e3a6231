"""Figures the notebooks show inline and save under ``figures/``."""

from __future__ import annotations

from pathlib import Path

import matplotlib

if not matplotlib.get_backend().lower().startswith(("module://matplotlib_inline", "module://ipykernel")):
    matplotlib.use("Agg")  # headless runs (papermill, CI) need no display
import matplotlib.pyplot as plt  # noqa: E402


def save(fig, path: str | Path) -> None:
    """Save ``fig`` (PNG, tight) creating the folder, show it once in a notebook, and close it.

    Returning nothing keeps notebooks free of ``;`` to hide a figure's repr, and closing it keeps
    memory flat over many plots.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110, bbox_inches="tight")
    try:
        from IPython import get_ipython
        from IPython.display import display

        if get_ipython() is not None:
            display(fig)
    except ImportError:
        pass
    plt.close(fig)


def length_histograms(lengths: dict, cutoffs: dict, path):
    """Token-length histograms of prompts and responses with the truncation cut-offs."""
    fig, axes = plt.subplots(1, len(lengths), figsize=(5 * len(lengths), 3.2))
    for ax, (name, values) in zip(list(axes), lengths.items()):
        ax.hist(values, bins=40, color="#4c72b0")
        if name in cutoffs:
            ax.axvline(cutoffs[name], color="crimson", ls="--", label=f"cut-off {cutoffs[name]}")
            ax.legend()
        ax.set(title=f"{name} length", xlabel="tokens", ylabel="rows")
    save(fig, path)


def _markers(n_points: int) -> dict:
    """Markers where a line has few points: a curve of one point is a line of length zero, invisible without one."""
    return {"marker": "o", "ms": 4 if n_points < 3 else 3} if n_points < 30 else {}


def curves(history: list[dict], keys: list[str], path, title: str = "", labels: dict | None = None):
    """One panel per key: metric vs step (rows of ``history`` that have the key)."""
    fig, axes = plt.subplots(1, len(keys), figsize=(4.5 * len(keys), 3.2), squeeze=False)
    for ax, key in zip(axes[0], keys):
        rows = [r for r in history if key in r]
        ax.plot([r["step"] for r in rows], [r[key] for r in rows], **_markers(len(rows)))
        ax.set(title=(labels or {}).get(key, key), xlabel="step")
        ax.grid(alpha=0.3)
    if title:
        fig.suptitle(title, y=1.06)
    save(fig, path)


def overlay(histories: dict[str, list[dict]], key: str, path, title: str = ""):
    """One metric of several runs on one axis (sweeps, RS-DPO mixtures)."""
    fig, ax = plt.subplots(figsize=(6, 3.6))
    for name, history in histories.items():
        rows = [r for r in history if key in r]
        ax.plot([r["step"] for r in rows], [r[key] for r in rows], label=name, **_markers(len(rows)))
    ax.set(title=title or key, xlabel="step", ylabel=key)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    save(fig, path)


def win_rate_bars(rows: list[dict], path, title: str = "win rate", ylabel: str = "win rate"):
    """Bars of ``rate`` with 95% CI whiskers; ``rows`` have name, rate, ci_low, ci_high (``ylabel``: what the rate
    is, e.g. a loss rate)."""
    fig, ax = plt.subplots(figsize=(1.2 + 1.1 * len(rows), 3.4))
    names = [r["name"] for r in rows]
    rates = [r["rate"] for r in rows]
    err = [[r["rate"] - r["ci_low"] for r in rows], [r["ci_high"] - r["rate"] for r in rows]]
    ax.bar(names, rates, yerr=err, capsize=4, color="#55a868")
    ax.axhline(0.5, color="grey", ls="--", lw=1)
    ax.set(ylim=(0, 1), ylabel=ylabel, title=title)
    ax.tick_params(axis="x", rotation=20)
    save(fig, path)


def save_table(table, path_stem, markdown: str | None = None):
    """Write ``table`` (a DataFrame) to ``path_stem.csv`` and ``path_stem.md`` and return it as Markdown
    for ``display`` (``markdown`` replaces the default rendering, e.g. :func:`winrate.to_markdown`)."""
    import pandas as pd
    from IPython.display import Markdown

    path_stem = Path(path_stem)
    path_stem.parent.mkdir(parents=True, exist_ok=True)
    keep_index = not isinstance(table.index, pd.RangeIndex)  # row labels (e.g. run names) are data
    text = markdown if markdown is not None else table.to_markdown(index=keep_index)
    table.to_csv(path_stem.with_suffix(".csv"), index=keep_index)
    path_stem.with_suffix(".md").write_text(text + "\n")
    return Markdown(text)
