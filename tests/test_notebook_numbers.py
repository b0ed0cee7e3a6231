"""Numbers in a notebook's prose come from the run: a markdown cell may state a result-like figure (a decimal, a
percentage, a "k of n", a ±) only inside a formula or code, or in a sentence that cites the study or a paper.
Every figure a run finds is printed by a code cell instead. (Design constants such as "8 answers" or "section 2"
are integers and pass.)"""

import re
from pathlib import Path

import pytest

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("0*.py"))
RESULT_LIKE = re.compile(r"\d*\.\d+|\d+\s*%|±|\b\d+\s*(?:of|out of)\s+\d+\b")
CITES = re.compile(r"\bstudy('s)?\b|et al\.|\(\d{4}\)|\bTable \d|\bFigure \d", re.IGNORECASE)


def markdown_cells(source: str) -> list[str]:
    """The markdown cells of a jupytext percent-format notebook, comment marks removed."""
    cells, current, in_markdown = [], [], False
    for line in source.splitlines():
        if line.startswith("# %%"):
            if in_markdown and current:
                cells.append("\n".join(current))
            current, in_markdown = [], "[markdown]" in line
        elif in_markdown:
            current.append(line[2:] if line.startswith("# ") else line.lstrip("#"))
    if in_markdown and current:
        cells.append("\n".join(current))
    return cells


def prose(cell: str) -> str:
    """The cell without formulas, code, links and section numbers: what a reader takes as a statement."""
    cell = re.sub(r"\$\$.*?\$\$|\$[^$]*\$", " ", cell, flags=re.S)
    cell = re.sub(r"`[^`]*`", " ", cell)
    cell = re.sub(r"\[[^\]]*\]\([^)]*\)|https?://\S+", " ", cell)
    return re.sub(r"^#+ *\d+[a-z]?\.", " ", cell, flags=re.M).replace("\n", " ")


def uncited_figures(source: str) -> list[str]:
    """Sentences of the markdown cells with a result-like figure and no citation."""
    sentences = [s for cell in markdown_cells(source) for s in re.split(r"(?<=[.!?])\s+(?=[A-Z*(-])", prose(cell))]
    return [s.strip() for s in sentences if RESULT_LIKE.search(s) and not CITES.search(s)]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_figures_in_prose_are_the_studys_or_printed_by_the_run(path):
    assert uncited_figures(path.read_text()) == []


def test_a_planted_figure_fails_and_a_cited_or_printed_one_passes():
    planted = "# %% [markdown]\n# In this run DPO won 0.62 of the prompts.\n"
    assert uncited_figures(planted) == ["In this run DPO won 0.62 of the prompts."]
    assert uncited_figures("# %% [markdown]\n# The study reports 0.72 → 0.83 with best-of-5.\n") == []
    assert (
        uncited_figures("# %% [markdown]\n# Set `beta = 0.5`, or $\\beta = 0.5$.\n# %%\nprint(f'{0.62:.2f}')\n") == []
    )
    assert uncited_figures("# %% [markdown]\n# It fell from 10% to 19% here.\n") != []
