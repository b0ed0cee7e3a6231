"""The answer explorer: read whole answers, one prompt at a time.

The views are pure functions that return HTML (answers in full, model text escaped), so they are tested
without a frontend and print into an executed notebook. :func:`show` writes the first view as static
output (what GitHub, nbviewer and papermill keep), then a small widget that browses the rest. The widget
uses only what ipywidgets 7.7.1 and 8 share; its callbacks are plain methods that tests call directly.
"""

from __future__ import annotations

import html
import math
import traceback
from pathlib import Path

import pandas as pd

from .files import atomic_write_text

OUTCOMES = ("all", "A wins", "ties", "B wins")
NO_MATCH = "No prompt matches these filters: choose another outcome or category."
_CELL = 'style="text-align:left;vertical-align:top;padding:4px 8px"'
_TABLE = 'style="border-collapse:collapse;width:100%;table-layout:fixed"'


def _e(text) -> str:
    return html.escape(str(text))


def _pre(text) -> str:
    """Model text in full: escaped, wrapped, never cut."""
    return f'<pre style="white-space:pre-wrap;word-break:break-word;margin:0">{_e(text)}</pre>'


def _num(value) -> str:
    """A score with three decimals; '–' when missing (None or NaN)."""
    try:
        value = float(value)
    except TypeError:
        return "–"
    except ValueError:
        return _e(value)
    return "–" if math.isnan(value) else f"{value:.3f}"


def _row(*cells, tag="td") -> str:
    return "<tr>" + "".join(f"<{tag} {_CELL}>{cell}</{tag}>" for cell in cells) + "</tr>"


def outcome_of(score_a, score_b, tie_margin: float = 1e-9) -> str:
    """'A wins', 'tie' or 'B wins' (|a - b| <= tie_margin is a tie); 'no score' when one is missing."""
    if "–" in (_num(score_a), _num(score_b)):
        return "no score"
    a, b = float(score_a), float(score_b)
    if abs(a - b) <= tie_margin:
        return "tie"
    return "A wins" if a > b else "B wins"


def breakdown_html(breakdown: dict | None) -> str:
    """A judge's breakdown: its components as a small table, its checks as lines marked ✓ or ✗."""
    if not breakdown:
        return ""
    components = breakdown.get("components") or {}
    table = "".join(_row(_e(name), _num(value)) for name, value in components.items())
    checks = "".join(f"<div>{'✓' if ok else '✗'} {_e(text)}</div>" for text, ok in breakdown.get("checks") or [])
    return (f"<table>{table}</table>" if table else "") + checks


def _answer_cell(answer, score, breakdown) -> str:
    words = len(str(answer).split())
    return f"<p>score <b>{_num(score)}</b>, {words} words</p>{_pre(answer)}{breakdown_html(breakdown)}"


def comparison_html(row: dict, names: tuple[str, str], tie_margin: float = 1e-9) -> str:
    """One prompt and two models' full answers side by side, with scores, word counts, breakdowns, outcome."""
    result = outcome_of(row["score_a"], row["score_b"], tie_margin)
    winner = {"A wins": f" ({_e(names[0])})", "B wins": f" ({_e(names[1])})"}.get(result, "")
    header = _row(f"A: {_e(names[0])}", f"B: {_e(names[1])}", tag="th")
    cells = [_answer_cell(row[f"answer_{s}"], row[f"score_{s}"], row.get(f"breakdown_{s}")) for s in "ab"]
    return (
        f"<div><p><b>Prompt</b> (category: {_e(row.get('category', ''))})</p>{_pre(row['prompt'])}"
        f"<p><b>Outcome: {result}{winner}</b>, scores {_num(row['score_a'])} vs {_num(row['score_b'])}</p>"
        f"<table {_TABLE}>{header}{_row(*cells)}</table></div>"
    )


def samples_html(prompt: str, samples: list[dict]) -> str:
    """One prompt's k samples in the order given: temperature, score, role (chosen/rejected), full response."""
    header = _row("#", "temperature", "score", "role", "response", tag="th")
    body = "".join(
        _row(
            str(i),
            _num(s.get("temperature")),
            _num(s.get("score")),
            f"<b>{_e(s.get('role') or '')}</b>",
            _pre(s["response"]) + breakdown_html(s.get("breakdown")),
        )
        for i, s in enumerate(samples)
    )
    widths = "<colgroup><col style='width:3em'><col style='width:7em'><col style='width:5em'><col style='width:6em'>"
    return (
        f"<div><p><b>Prompt</b></p>{_pre(prompt)}<table {_TABLE}>{widths}<col></colgroup>{header}{body}</table></div>"
    )


def _rewards_html(before: dict | None, after: dict | None) -> str:
    if not before and not after:
        return ""
    before, after = before or {}, after or {}
    rows = "".join(_row(key, _num(before.get(key)), _num(after.get(key))) for key in ("chosen", "rejected", "margin"))
    return f"<p><b>DPO implicit rewards</b></p><table>{_row('', 'before', 'after', tag='th')}{rows}</table>"


def pairs_html(pair: dict) -> str:
    """One training preference pair: prompt, chosen and rejected in full, the rejected kind, the judge's
    score difference, and the DPO implicit rewards before and after training when given."""
    facts = []
    if pair.get("kind"):
        facts.append(f"rejected kind: <b>{_e(pair['kind'])}</b>")
    if pair.get("delta") is not None:
        facts.append(f"judge score difference: <b>{_num(pair['delta'])}</b>")
    sides = _row(_pre(pair["chosen"]), _pre(pair["rejected"]))
    return (
        f"<div><p><b>Prompt</b></p>{_pre(pair['prompt'])}<p>{', '.join(facts)}</p>"
        f"<table {_TABLE}>{_row('chosen', 'rejected', tag='th')}{sides}</table>"
        f"{_rewards_html(pair.get('reward_before'), pair.get('reward_after'))}</div>"
    )


def filter_rows(rows, outcome: str = "all", category: str = "all", tie_margin: float = 1e-9) -> list[int]:
    """Indices of the comparison rows with this outcome ('all', 'A wins', 'ties', 'B wins') and category."""
    if outcome not in OUTCOMES:
        raise ValueError(f"outcome must be one of {OUTCOMES}, got {outcome!r}")
    wanted = {"ties": "tie"}.get(outcome, outcome)
    return [
        i
        for i, row in enumerate(rows)
        if (outcome == "all" or outcome_of(row["score_a"], row["score_b"], tie_margin) == wanted)
        and (category == "all" or str(row.get("category", "")) == category)
    ]


def _label(index: int, row) -> str:
    prompt = row.get("prompt", "") if isinstance(row, dict) else str(row)
    return f"{index}: {' '.join(str(prompt).split())[:60]}"


class Explorer:
    """Browse rows with ``view(row) -> html``: outcome and category filters (comparison rows only), a
    selection, previous and next. Every callback sets ``self.html.value``; ``self.widget`` is the box."""

    def __init__(self, rows, view, title: str = "", tie_margin: float = 1e-9):
        import ipywidgets as widgets

        self.rows, self.view, self.tie_margin = list(rows), view, tie_margin
        self.comparison = bool(self.rows) and all(isinstance(r, dict) and "score_a" in r for r in self.rows)
        self.html = widgets.HTML()
        self.select = widgets.Dropdown(description="prompt", layout=widgets.Layout(width="60%"))
        self.previous = widgets.Button(description="◀ previous")
        self.next = widgets.Button(description="next ▶")
        self.select.observe(self.on_select, names="value")
        self.previous.on_click(self.on_previous)
        self.next.on_click(self.on_next)
        filters = []
        if self.comparison:
            categories = sorted({str(r.get("category", "")) for r in self.rows})
            self.outcome = widgets.Dropdown(options=list(OUTCOMES), value="all", description="outcome")
            self.category = widgets.Dropdown(options=["all", *categories], value="all", description="category")
            self.outcome.observe(self.on_outcome, names="value")
            self.category.observe(self.on_category, names="value")
            filters = [widgets.HBox([self.outcome, self.category])]
        heading = [widgets.Label(title)] if title else []
        navigation = widgets.HBox([self.previous, self.select, self.next])
        self.widget = widgets.VBox([*heading, *filters, navigation, self.html])
        self.refilter()

    def matching(self) -> list[int]:
        """Indices of the rows the filters let through."""
        if not self.comparison:
            return list(range(len(self.rows)))
        return filter_rows(self.rows, self.outcome.value, self.category.value, self.tie_margin)

    def refilter(self) -> None:
        """Offer the matching rows; keep the selected one if it still matches, else select the first."""
        keep = self.select.value
        indices = self.matching()
        self.select.options = [(_label(i, self.rows[i]), i) for i in indices]
        # ipywidgets 8 selects nothing after an empty list, 7 selects the first: choose explicitly in both
        self.select.value = keep if keep in indices else (indices[0] if indices else None)
        self.render()

    def render(self) -> None:
        """Show the selected row, or say that nothing matches. An error in ``view`` is shown, not swallowed."""
        if self.select.value is None:
            self.html.value = f"<p><b>{_e(NO_MATCH)}</b></p>"
            return
        try:
            self.html.value = self.view(self.rows[self.select.value])
        except Exception:
            self.html.value = f"<p><b>view(row) failed:</b></p>{_pre(traceback.format_exc())}"

    def step(self, by: int) -> None:
        """Select the row ``by`` places further among the matching ones (wrapping round)."""
        indices = [value for _, value in self.select.options]
        if indices:
            position = indices.index(self.select.value) if self.select.value in indices else 0
            self.select.value = indices[(position + by) % len(indices)]
        self.render()

    def on_outcome(self, change=None) -> None:
        self.refilter()

    def on_category(self, change=None) -> None:
        self.refilter()

    def on_select(self, change=None) -> None:
        self.render()

    def on_previous(self, button=None) -> None:
        self.step(-1)

    def on_next(self, button=None) -> None:
        self.step(+1)


def show(rows, view, title: str = "", **kw):
    """Display the first view as static HTML (kept by executed notebooks where no kernel runs), then the
    explorer widget when ipywidgets imports. Returns the :class:`Explorer`, or None without ipywidgets."""
    from IPython.display import HTML, display

    rows = list(rows)
    heading = f"<h4>{_e(title)}</h4>" if title else ""
    first = view(rows[0]) if rows else f"<p>{_e(NO_MATCH)}</p>"
    note = f"<p><i>The first of {len(rows)} rows; run the notebook live to browse them all below.</i></p>"
    display(HTML(heading + first + note))
    try:
        import ipywidgets  # noqa: F401
    except ImportError:
        display(HTML("<p><i>ipywidgets is not installed: only the first prompt is shown.</i></p>"))
        return None
    explorer = Explorer(rows, view, title=title, **kw)
    display(explorer.widget)
    return explorer


def comparison_rows(
    prompts, categories, answers_a, answers_b, scores_a, scores_b, breakdowns_a=None, breakdowns_b=None
) -> list[dict]:
    """Rows for :func:`comparison_html` from parallel lists (categories and breakdowns may be None)."""
    n = len(prompts)
    categories = [""] * n if categories is None else list(categories)
    lists = [categories, answers_a, answers_b, scores_a, scores_b]
    lists += [breakdowns_a or [None] * n, breakdowns_b or [None] * n]
    if any(len(values) != n for values in lists):
        raise ValueError(f"every list must have one entry per prompt ({n}); got {[len(v) for v in lists]}")
    rows = []
    for prompt, category, a, b, sa, sb, ba, bb in zip(prompts, *lists):
        row = {"prompt": prompt, "category": category, "answer_a": a, "answer_b": b, "score_a": sa, "score_b": sb}
        row.update({key: value for key, value in (("breakdown_a", ba), ("breakdown_b", bb)) if value is not None})
        rows.append(row)
    return rows


def breakdowns(judge, prompts, answers) -> list[dict] | None:
    """The judge's breakdown of every answer (:meth:`GoldJudge.breakdown` as a dict); None for a judge without."""
    if not hasattr(judge, "breakdown"):
        return None
    return [judge.breakdown(p, a).as_dict() for p, a in zip(prompts, answers)]


def show_comparison(judge, prompts, categories, answers: dict, scores: dict, names: tuple[str, str], csv_path,
                    title: str = "") -> list[dict]:  # fmt: skip
    """Two models' answers to the same prompts, with scores and the judge's breakdowns: written to ``csv_path``
    (:func:`write_answers_table`), the first prompt shown statically and the rest in the explorer. Returns the rows."""
    a, b = names
    rows = comparison_rows(prompts, categories, answers[a], answers[b], scores[a], scores[b],
                           breakdowns(judge, prompts, answers[a]), breakdowns(judge, prompts, answers[b]))  # fmt: skip
    path = write_answers_table(rows, names, csv_path)
    print(f"all {len(rows)} answers of {a} and {b} with their scores: {path}")
    show(rows, lambda r: comparison_html(r, names), title=title or f"{a} vs {b}")
    return rows


def answers_table(rows, names: tuple[str, str], tie_margin: float = 1e-9) -> pd.DataFrame:
    """One row per prompt: prompt, category, both answers and scores, the outcome, and one column per judge
    component (``<name>_task``, ...). The checks of a breakdown are not kept."""
    a, b = names
    if a == b:
        raise ValueError(f"the two names must differ, got {names}")
    records = []
    for row in rows:
        record = {"prompt": row["prompt"], "category": row.get("category", "")}
        record.update({f"answer_{a}": row["answer_a"], f"answer_{b}": row["answer_b"]})
        record.update({f"score_{a}": row["score_a"], f"score_{b}": row["score_b"]})
        record["outcome"] = outcome_of(row["score_a"], row["score_b"], tie_margin)
        for side, name in (("a", a), ("b", b)):
            components = (row.get(f"breakdown_{side}") or {}).get("components") or {}
            record.update({f"{name}_{key}": value for key, value in components.items()})
        records.append(record)
    return pd.DataFrame(records)


def write_answers_table(rows, names: tuple[str, str], path) -> Path:
    """Write :func:`answers_table` as CSV atomically (a temporary file in the same folder, then a rename)."""
    path = Path(path)
    atomic_write_text(path, answers_table(rows, names).to_csv(index=False))
    return path


def _owner(column: str, names: tuple[str, str]) -> str | None:
    """Which model a component column ``<name>_<component>`` belongs to (the longer name wins a tie)."""
    if column in {f"score_{name}" for name in names}:
        return None
    owners = [name for name in names if column.startswith(f"{name}_")]
    return max(owners, key=len) if owners else None


def read_answers_table(path, names: tuple[str, str]) -> list[dict]:
    """Rows back from :func:`write_answers_table`; component columns become breakdowns (without checks)."""
    a, b = names
    text = ["prompt", "category", f"answer_{a}", f"answer_{b}", "outcome"]
    table = pd.read_csv(path, dtype=dict.fromkeys(text, str), keep_default_na=False)
    numbers = {c: pd.to_numeric(table[c], errors="coerce") for c in table.columns if c not in text}
    rows = []
    for i, record in table.iterrows():
        row = {"prompt": record["prompt"], "category": record["category"]}
        for side, name in (("a", a), ("b", b)):
            row[f"answer_{side}"] = record[f"answer_{name}"]
            row[f"score_{side}"] = float(numbers[f"score_{name}"][i])
            keys = [c for c in numbers if _owner(c, names) == name and not math.isnan(numbers[c][i])]
            if keys:
                components = {c[len(name) + 1 :]: float(numbers[c][i]) for c in keys}
                row[f"breakdown_{side}"] = {"score": row[f"score_{side}"], "components": components}
        rows.append(row)
    return rows


def write_comparison_tables(judge, rows, answers, scores, compared, folder: Path) -> dict[tuple, Path]:
    """One CSV per compared pair of models: prompt, category, both answers, both scores and the judge's breakdown
    columns (:func:`explorer.write_answers_table`), for a student to open with pandas."""
    prompts, categories = [r["prompt"] for r in rows], [r.get("category", "") for r in rows]
    names = {n for pair in compared for n in pair}
    parts = {n: breakdowns(judge, prompts, answers[n]) for n in names}
    written = {}
    for a, b in compared:
        table_rows = comparison_rows(
            prompts, categories, answers[a], answers[b], scores[a], scores[b], parts.get(a), parts.get(b)
        )
        written[a, b] = write_answers_table(table_rows, (a, b), folder / f"{a}_vs_{b}.csv")
    return written
