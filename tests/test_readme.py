"""The README names only what exists: files and folders (links and backticked paths), `make` targets of the
Makefile, runnable `python -m sfdpo_helpers.X` modules, notebooks; its Colab badges open this repository's
notebooks; its results table quotes the published offline run; it stays short, with its badge, notebooks
table and two commands on the first screen. Each checker returns the problems it finds, so a test can feed
it a bad page."""

import re
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
RESULTS_PAGE = ROOT / "docs" / "offline_run" / "results.md"
# Backticked words under these folders (or these root files) are the repository's files; other paths
# (runs/main/..., figures/*.png, MyDrive/...) are what a run writes.
SOURCE_FOLDERS = ("notebooks", "sfdpo_helpers", "docs", "tests", "scripts", "bench", ".ci")
ROOT_FILES = ("Makefile", "pyproject.toml", "environment.yml", "jupytext.toml", "README.md", "CHANGELOG.md")
FIRST_SCREEN_LINES = 40


def code_spans(text: str) -> list[str]:
    """The contents of fenced code blocks and inline code spans."""
    fenced = re.findall(r"^```[^\n]*\n(.*?)^```", text, flags=re.S | re.M)
    rest = re.sub(r"^```[^\n]*\n.*?^```", "", text, flags=re.S | re.M)
    return fenced + re.findall(r"`([^`\n]+)`", rest)


def linked_paths(text: str) -> list[str]:
    """Relative link and image targets (no web addresses, no in-page anchors), without their #fragment."""
    targets = re.findall(r"\]\(([^)\s]+)\)", text)
    return [t.split("#")[0] for t in targets if not re.match(r"[a-z]+:|#", t)]


def path_words(span: str) -> list[str]:
    """Words of a code span that name the repository's files or folders."""
    words = [w.strip(".,;:()'\"") for w in span.split()]
    return [w for w in words if w.split("/")[0] in SOURCE_FOLDERS and "/" in w or w in ROOT_FILES]


def _exists(root: Path, path: str) -> bool:
    return any(root.glob(path)) if any(c in path for c in "*?[") else (root / path).exists()


def missing_paths(text: str, root: Path = ROOT, page_dir: Path = ROOT) -> list[str]:
    """Links (relative to ``page_dir``) and backticked paths (relative to ``root``) that do not exist."""
    problems = [f"link {p!r}: no such file" for p in linked_paths(text) if not _exists(page_dir, p)]
    words = {w for span in code_spans(text) for w in path_words(span)}
    return problems + [f"path {w!r}: no such file or folder" for w in sorted(words) if not _exists(root, w)]


def make_targets(makefile: str) -> set[str]:
    """The targets a Makefile defines (``name:`` at the start of a line, not ``name :=``)."""
    return {m for m in re.findall(r"^([A-Za-z0-9_][\w.-]*)\s*:(?!=)", makefile, flags=re.M)}


def missing_make_targets(text: str, targets: set[str]) -> list[str]:
    """``make X`` in code that names no target of the Makefile (``make X VAR=value`` checks X)."""
    named = {m for span in code_spans(text) for m in re.findall(r"(?:^|[\s;&(])make\s+([A-Za-z][\w-]*)\b(?!=)", span)}
    return [f"make target {t!r}: not in the Makefile" for t in sorted(named - targets)]


def missing_modules(text: str, root: Path = ROOT) -> list[str]:
    """``-m sfdpo_helpers.X`` whose module does not exist or cannot run as a command (no ``__main__``)."""
    problems = []
    for name in sorted(set(re.findall(r"-m\s+(sfdpo_helpers(?:\.\w+)+)", text))):
        path = root / Path(*name.split("."))
        source = path.with_suffix(".py") if path.with_suffix(".py").exists() else path / "__main__.py"
        if not source.exists():
            problems.append(f"module {name!r}: no such module")
        elif "__main__" not in source.read_text():
            problems.append(f"module {name!r}: not runnable with python -m (no __main__)")
    return problems


def notebook_names(root: Path = ROOT) -> set[str]:
    return {p.stem for p in (root / "notebooks").glob("[0-9][0-9]_*.ipynb")}


def missing_notebooks(text: str, names: set[str]) -> list[str]:
    """Bare notebook names (``04_dpo``, ``04_dpo.ipynb``) that are not notebooks of ``notebooks/``."""
    found = re.findall(r"(?<![\w/.-])(\d\d_[a-z][a-z0-9_]*)(?:\.(?:ipynb|py))?(?![\w.-])", text)
    return [f"notebook {n!r}: not in notebooks/" for n in sorted(set(found) - names)]


def repository(root: Path = ROOT) -> str:
    """``owner/name`` of ``[project.urls] Repository`` in pyproject.toml."""
    url = tomllib.loads((root / "pyproject.toml").read_text())["project"]["urls"]["Repository"]
    return url.rstrip("/").removeprefix("https://github.com/")


def wrong_colab_links(text: str, repo: str, root: Path = ROOT) -> list[str]:
    """Colab links that open another repository or a file this one lacks."""
    problems = []
    for owner_name, path in re.findall(
        r"colab\.research\.google\.com/github/([^/\s)]+/[^/\s)]+)/blob/[^/\s)]+/([^)\s]+)", text
    ):
        if owner_name != repo:
            problems.append(f"Colab link to {owner_name}, not {repo} (pyproject.toml): {path}")
        if not (root / path).exists():
            problems.append(f"Colab link to {path!r}: no such file")
    return problems


def results_table(text: str) -> list[list[str]]:
    """The body rows of the first table under the README's ``## Results`` heading."""
    section = re.search(r"^## Results[^\n]*\n(.*?)(?=^## |\Z)", text, flags=re.S | re.M)
    if not section:
        return []
    lines = [line for line in section.group(1).splitlines() if line.startswith("|")]
    rows = [[c.strip() for c in line.strip("|").split("|")] for line in lines]
    return [r for r in rows[1:] if not all(set(c) <= set(":-") for c in r)]


def row_numbers(row: list[str]) -> tuple[list[str], list[str]]:
    """A row's quoted figures: intervals ``[a, b]``, counts ``W / T / L`` and decimals; and its plain integers."""
    figures, integers = [], []
    for cell in row:
        spans = re.findall(r"\[\d+\.\d+, \d+\.\d+\]|\d+ / \d+ / \d+", cell)
        rest = re.sub(r"\[\d+\.\d+, \d+\.\d+\]|\d+ / \d+ / \d+|\S*[A-Za-z]\S*", " ", cell)
        figures += spans + re.findall(r"\d+\.\d+", rest)
        integers += re.findall(r"(?<![\d.])\d+(?![\d.])", rest)
    return figures, integers


def unquoted_results(rows: list[list[str]], page: str) -> list[str]:
    """Rows whose figures do not all appear on one line of the results page (integers: anywhere on it)."""
    lines, problems = page.splitlines(), []
    for row in rows:
        figures, integers = row_numbers(row)
        if figures and not any(all(f in line for f in figures) for line in lines):
            problems.append(f"results row {' | '.join(row)!r}: {figures} not on one line of the results page")
        absent = [i for i in integers if not re.search(rf"(?<![\d.]){i}(?![\d.])", page)]
        problems += [f"results row {row[0]!r}: {i} not on the results page" for i in absent]
    return problems


def test_the_readme_names_only_files_that_exist():
    assert missing_paths(README.read_text()) == []


@pytest.mark.parametrize("page", ["CHANGELOG.md", "docs/measurements.md"])
def test_the_other_pages_name_only_files_that_exist(page):
    path = ROOT / page
    text = path.read_text()
    assert missing_paths(text, page_dir=path.parent) + missing_modules(text) == []


def test_the_readme_names_only_make_targets_of_the_makefile():
    targets = make_targets((ROOT / "Makefile").read_text())
    assert {"demo", "test", "install"} <= targets
    assert missing_make_targets(README.read_text(), targets) == []


def test_the_readme_runs_only_modules_that_exist():
    assert missing_modules(README.read_text()) == []


def test_the_readme_names_only_notebooks_that_exist():
    assert missing_notebooks(README.read_text(), notebook_names()) == []


def test_the_readme_colab_badges_open_this_repository_and_every_notebook():
    text = README.read_text()
    assert wrong_colab_links(text, repository()) == []
    opened = set(re.findall(r"colab\.research\.google\.com/github/[^)\s]+/notebooks/(\d\d_\w+)\.ipynb", text))
    assert opened == notebook_names()


def test_the_readme_results_table_quotes_the_published_offline_run():
    rows = results_table(README.read_text())
    assert len(rows) >= 3 and all(row_numbers(r)[0] for r in rows)
    assert unquoted_results(rows, RESULTS_PAGE.read_text()) == []


def test_the_readme_is_short_with_badge_notebooks_and_commands_on_the_first_screen():
    lines = README.read_text().splitlines()
    assert len(lines) <= 150
    first = "\n".join(lines[:FIRST_SCREEN_LINES])
    badge = first.find("colab-badge.svg")
    table = first.find("| notebook |")
    demo, test = first.find("make demo"), first.find("make test")
    assert 0 <= badge < table < demo and test >= 0, "badge, notebooks table and the two commands in the first lines"


def test_the_readme_has_no_commit_hashes_or_first_person():
    text = README.read_text()
    words = re.findall(r"[0-9a-f]{7,40}", re.sub(r"\(https?://[^)]*\)", "", text))
    assert [w for w in words if re.search(r"[a-f]", w) and re.search(r"\d", w)] == []
    assert re.findall(r"\b(I|my|mine|me|we|our|us)\b", text) == []


# --- the checkers find what is wrong -----------------------------------------------------------------


@pytest.mark.parametrize(
    "page,problem",
    [
        ("Open `notebooks/09_nope.ipynb`.", "path 'notebooks/09_nope.ipynb'"),
        ("See [the record](docs/nope.md#x).", "link 'docs/nope.md'"),
        ("```bash\npython sfdpo_helpers/nope.py --x\n```", "path 'sfdpo_helpers/nope.py'"),
        ("`scripts/*.sh`", "path 'scripts/*.sh'"),
    ],
)
def test_a_missing_file_is_named(page, problem):
    problems = missing_paths(page)
    assert len(problems) == 1 and problems[0].startswith(problem)


def test_existing_files_and_run_outputs_pass():
    page = "`notebooks/04_dpo.ipynb`, `sfdpo_helpers/profiles/`, `notebooks/*.py`, [x](docs/measurements.md)"
    page += ", `runs/main/results.md` (a run's output), `make demo`"
    assert missing_paths(page) == []


def test_a_make_target_the_makefile_lacks_is_named():
    targets = make_targets("PY ?= python\n.PHONY: demo\ndemo: install\n\tx\ninstall: $(VENV)/.installed\n")
    assert targets >= {"demo", "install"} and "PY" not in targets
    page = "```bash\nmake demo TORCH=torch\nmake deploy   # publish\n```\nor `make install`; to make the pairs"
    assert missing_make_targets(page, targets) == ["make target 'deploy': not in the Makefile"]


def test_a_module_that_does_not_exist_or_cannot_run_is_named():
    page = "`python -m sfdpo_helpers.main`, `python -m sfdpo_helpers.nope`, `python -m sfdpo_helpers.models`"
    assert missing_modules(page) == [
        "module 'sfdpo_helpers.models': not runnable with python -m (no __main__)",
        "module 'sfdpo_helpers.nope': no such module",
    ]


def test_a_notebook_that_does_not_exist_is_named():
    page = (
        "| `04_dpo` | ... | `08_distillation` | `03_judging.ipynb` | docs/offline_run/04_dpo_vs_dpop_chosen_reward.png"
    )
    assert missing_notebooks(page, notebook_names()) == ["notebook '08_distillation': not in notebooks/"]


def test_a_colab_badge_of_another_repository_or_notebook_is_named():
    page = (
        "[b](https://colab.research.google.com/github/sfdpo/sfdpo/blob/main/notebooks/02_sft.ipynb) "
        "[b](https://colab.research.google.com/github/someone/fork/blob/main/notebooks/09_nope.ipynb)"
    )
    assert wrong_colab_links(page, "sfdpo/sfdpo") == [
        "Colab link to someone/fork, not sfdpo/sfdpo (pyproject.toml): notebooks/09_nope.ipynb",
        "Colab link to 'notebooks/09_nope.ipynb': no such file",
    ]


def test_a_results_row_the_page_does_not_hold_is_named():
    page = "| sft | base | 0.630 | [0.568, 0.688] | 32 / 57 / 7 | 96 |\n## Table 2\n| rsdpo1 | 0.354 [0.297, 0.411] |"
    readme = (
        "## Results of the run\n\n| comparison | model | win rate | 95% CI | W / T / L | n |\n"
        "|---|---|---|---|---|---|\n"
        "| SFT vs base | sft | 0.630 | [0.568, 0.688] | 32 / 57 / 7 | 96 |\n"
        "| Table 2 | rsdpo1 | 0.354 | [0.297, 0.411] | | 96 |\n"
        "| final vs base | selfimprove1 | 0.677 | [0.615, 0.734] | 40 / 50 / 6 | 97 |\n\n## Next\n| x | 1.5 |\n"
    )
    rows = results_table(readme)
    assert [r[0] for r in rows] == ["SFT vs base", "Table 2", "final vs base"]
    assert row_numbers(rows[2]) == (["0.677", "[0.615, 0.734]", "40 / 50 / 6"], ["97"])
    problems = unquoted_results(rows, page)
    assert len(problems) == 2 and "0.677" in problems[0] and problems[1].endswith("97 not on the results page")
