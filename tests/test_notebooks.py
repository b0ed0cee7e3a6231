"""Every notebook runs end to end through papermill on the tiny model, then passes nbval (lax); the
jupytext pairs agree; parameters are one clear error when mistyped."""

import dataclasses
import hashlib
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from sfdpo_helpers import exercises, pipeline, settings
from sfdpo_helpers.main import NOTEBOOKS, notebook_paths, run_notebooks

# Under `make test` (pytest-xdist) these tests stay on one worker: they share the executed notebooks.
pytestmark = pytest.mark.xdist_group("executed_notebooks")

ROOT = Path(__file__).resolve().parents[1]
MINI = Path(__file__).parent / "fixtures" / "mini"
# reduced run settings: the tiny random model on the mini fixture, a few steps per stage
TINY_RUN = {
    "base_model": "tiny",
    "source": str(MINI),
    "batch_size": 4,
    "micro_batch_size": 2,
    "save_every": 1,
    "sft": {"lr": 1e-3, "epochs": 1.0, "max_examples": 8},
    "dpo": {"lr": 1e-3, "epochs": 1.0, "max_examples": 8},
    "rs_dpo": {"lr": 1e-3, "epochs": 1.0, "max_examples": 6},
    "self_improve": {"lr": 1e-3, "epochs": 1.0},
    "max_new_tokens": 8,
    "monitor_max_new_tokens": 8,
    "n_eval_prompts": 6,
    "gen_batch_size": 8,
    "monitor_every": 1,
    "n_monitor_prompts": 3,
    "n_eval_examples": 4,
}
# reduced notebook parameters: each notebook takes those it has
TINY_STORY = {
    "n_self_judge": 2,
    "khaki_prompts": 2,
    "n_new_per_category": 3,
    "min_prompts_per_category": 1,
    "best_of": [2, 3],
}


def tiny_settings(out: Path, **changes) -> settings.RunSettings:
    return settings.load({**TINY_RUN, "out_dir": str(out), "figures_dir": str(out / "figures"), **changes})


@pytest.fixture(scope="session")  # session: xdist may interleave other modules on this worker
def executed(tmp_path_factory):
    out = tmp_path_factory.mktemp("run")
    story = {k: v for k, v in TINY_STORY.items()}
    run_notebooks(tiny_settings(out), story, only=["01", "02", "03", "04", "05", "06"])
    # the tiny model's answers all score 0 under the verifiable judge, so there would be no preference to learn
    # from; the self-judge (continuous scores) exercises the whole self-improvement path
    run_notebooks(tiny_settings(out, judge="self"), story, only=["07"])
    return out


def cells_text(path):
    nb = json.loads(Path(path).read_text())
    texts = []
    for cell in nb["cells"]:
        for o in cell.get("outputs", []):
            t = o.get("text") or o.get("data", {}).get("text/plain", "")
            texts.append("".join(t) if isinstance(t, list) else t)
    return "\n".join(texts)


def test_every_notebook_executed(executed):
    names = [p.name for p in notebook_paths()]
    assert names == [
        f"0{i}_{n}.ipynb"
        for i, n in enumerate(["data_prep", "sft", "judging", "dpo", "rs_dpo", "curriculum", "self_improvement"], 1)
    ]
    for name in names:
        assert (executed / "executed" / name).exists()


def test_01_writes_data_table_and_histogram(executed):
    for f in ("sft_train.jsonl", "sft_eval.jsonl", "pairs_train.jsonl", "eval_prompts.jsonl"):
        assert (executed / "data" / f).stat().st_size > 0
    assert (executed / "figures" / "01_length_histograms.png").exists()
    table = (executed / "figures" / "01_length_percentiles.csv").read_text()
    assert "p50" in table and "p95" in table
    text = cells_text(executed / "executed" / "01_data_prep.ipynb")
    assert "23 rows read, 21 kept" in text and "dropped: response < 75 chars" in text


def test_02_shows_the_masked_labels_trains_saves_and_plots(executed):
    assert (executed / "models" / "sft" / "model.safetensors").exists()
    history = json.loads((executed / "checkpoints" / "sft" / "history.json").read_text())
    assert [r["step"] for r in history if "loss" in r] == [1, 2]
    assert any("eval_loss" in r for r in history) and any("win_rate" in r for r in history)
    monitored = [r["step"] for r in history if "win_rate" in r]
    assert monitored[0] == 0 and len(monitored) >= 3  # a step-0 point, then a curve
    assert [r["win_rate"] for r in history if "win_rate" in r][0] == 0.5  # the start model against itself
    assert (executed / "figures" / "02_sft_curves.png").exists()
    text = cells_text(executed / "executed" / "02_sft.ipynb")
    assert "masked (-100)" in text and "trained" in text
    assert "by hand: F.cross_entropy over" in text and "helper:  losses.sft_loss_sum" in text
    assert "This run: eval loss" in text  # the text states this run's figures, from its history


def test_04_computes_log2_by_hand_and_trains_dpo_and_dpo_positive(executed):
    text = cells_text(executed / "executed" / "04_dpo.ipynb")
    assert "log 2 = 0.693147" in text and "def dpo_family_loss" in text
    assert "by hand: log π(y+|x)" in text and "helper:  log π(y+|x)" in text  # sequence_logps vs log_softmax+gather
    assert (executed / "figures" / "04_loss_and_gradient_weight.png").exists()
    assert "This run (β = 0.1" in text
    assert (executed / "models" / "dpo" / "model.safetensors").exists()
    assert not (executed / "models" / "dpo_positive").exists()  # trained for its curves, not kept
    assert (executed / "figures" / "04_dpo_vs_dpop_chosen_reward.png").exists()
    positive = json.loads((executed / "checkpoints" / "dpo_positive" / "history.json").read_text())
    assert any(r.get("dpop", 0) >= 0 for r in positive if "loss" in r)


def test_03_to_07_write_their_tables(executed):
    figures = executed / "figures"
    for name in (
        "03_win_rates.csv",
        "03_win_rates.md",
        "03_win_rates.png",
        "04_dpo_loss_margin.png",
        "05_table2_rs_dpo.csv",
        "05_rs_dpo_margins.png",
        "06_category_loss_rates.csv",
        "07_table3.csv",
        "07_table3.md",
        "07_cross_judge.csv",
    ):
        assert (figures / name).exists(), name
    table2 = (figures / "05_table2_rs_dpo.csv").read_text()
    assert "rsdpo1" in table2 and "rsdpo3" in table2
    table3 = (figures / "07_table3.md").read_text()
    assert "rsdpo3 " in table3 and "selfimprove1 " in table3
    assert "decisive" in (figures / "03_win_rates.md").read_text()
    assert len(data_rows(executed / "data" / "curriculum_prompts.jsonl")) == 6  # 2 weakest categories x 3
    text = cells_text(executed / "executed" / "07_self_improvement.ipynb")
    assert "chosen (best)" in text and "rejected (random of the bottom 3)" in text
    assert "Khaki's rule (tau=" in text and "pairs from 2 prompts x 8 answers" in text  # section 2, no new samples


def test_03_shows_the_answers_statically_first_and_a_chance_level_from_the_tie_rates(executed):
    nb = json.loads((executed / "executed" / "03_judging.ipynb").read_text())
    side_by_side = next(c for c in nb["cells"] if "explorer.show_comparison(" in "".join(c["source"]))
    first_view = next(o for o in side_by_side["outputs"] if "text/html" in o.get("data", {}))
    page = "".join(first_view["data"]["text/html"])  # the static first view, saved where no kernel runs
    assert "A: sft" in page and "B: base" in page and "task:" in page  # both answers and the gold breakdown
    table = pd.read_csv(executed / "tables" / "03_sft_vs_base.csv")
    assert {"answer_sft", "answer_base", "score_sft", "sft_task"} <= set(table.columns)
    text = cells_text(executed / "executed" / "03_judging.ipynb")
    assert "mean score difference" in text and "task accuracy" in text  # the paired measure
    assert "chance at these tie rates" in text and "0.5 is chance" not in text
    assert "a win rate is told apart from ½ only outside" in text


def test_05_says_what_this_run_found(executed):
    text = cells_text(executed / "executed" / "05_rs_dpo.ipynb")
    assert "This run: rsdpo1" in text and "This run: rsdpo3" in text


def data_rows(path):
    return [json.loads(line) for line in Path(path).read_text().splitlines() if line.strip()]


def test_results_summary_compares_every_model(executed):
    from sfdpo_helpers.results import summarise

    table = summarise(tiny_settings(executed))
    assert set(table[table.baseline == "base"].model) >= {
        "sft",
        "dpo",
        "rsdpo1",
        "rsdpo3",
        "selfimprove1",
    }
    text = (executed / "results.md").read_text()
    assert "Every model vs the base model" in text and "prompt_strict" in text and "goes undetected" in text
    assert (executed / "figures" / "win_rate_overview.png").exists()
    assert "Table 2" in text and "Table 3" in text
    assert "- precision: " in text and "profile `offline`" in text and "transformers " in text  # how it was made
    headline = pd.read_csv(executed / "results_headline.csv", dtype=str)
    assert list(zip(headline.comparison, headline.model, headline.vs))[:2] == [
        ("final vs base", "selfimprove1", "base"),
        ("DPO vs SFT", "dpo", "sft"),
    ]
    assert "## Headline comparisons" in text and headline["95% CI"][0] in text
    table2 = pd.read_csv(executed / "results_table2.csv", index_col=0)
    assert set(table2.index) >= {"rsdpo1", "rsdpo3"}
    history = json.loads((executed / "checkpoints" / "rsdpo1" / "history.json").read_text())
    judged = [r for r in history if "win_rate" in r]
    epoch_at = {r["step"]: r["epoch"] for r in history if "epoch" in r}
    assert list(table2.columns) == [f"epoch {epoch_at[r['step']]:.2f}" for r in judged]
    assert table2.loc["rsdpo1"].iloc[-1].startswith(f"{judged[-1]['win_rate']:.3f} [")
    table3 = pd.read_csv(executed / "results_table3.csv")
    assert list(zip(table3.model, table3.baseline)) == [
        ("rsdpo3", "dpo"),
        ("selfimprove1", "dpo"),
        ("selfimprove1", "rsdpo3"),
    ]
    row = table[(table.model == "dpo") & (table.baseline == "rsdpo3")].iloc[0]
    assert table3.win_rate[0] == pytest.approx(1 - row.win_rate)


def test_nbval_lax_passes_on_executed_notebooks(executed):
    res = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "--nbval-lax",
            "-p",
            "no:cacheprovider",
            str(executed / "executed" / "01_data_prep.ipynb"),
        ],
        capture_output=True,
        text=True,
        cwd=executed,
        timeout=600,
    )
    assert res.returncode == 0, res.stdout[-3000:]


def test_unknown_parameter_is_one_clear_error(tmp_path):
    import papermill as pm

    with pytest.raises(pm.PapermillExecutionError) as err:
        pm.execute_notebook(
            str(notebook_paths(["02"])[0]),
            str(tmp_path / "out.ipynb"),
            cwd=str(NOTEBOOKS),
            parameters={"eval_evry": 5, "run": {"out_dir": str(tmp_path)}},
            progress_bar=False,
        )
    assert "ParameterError" in str(err.value) and "eval_evry" in str(err.value)


def test_a_later_notebook_without_its_inputs_stops_with_one_line_naming_the_notebook(tmp_path):
    import papermill as pm

    run = {**TINY_RUN, "out_dir": str(tmp_path / "run"), "figures_dir": str(tmp_path / "figures")}
    with pytest.raises(pm.PapermillExecutionError) as err:
        pm.execute_notebook(
            str(notebook_paths(["04"])[0]),
            str(tmp_path / "out.ipynb"),
            cwd=str(NOTEBOOKS),
            parameters={"run": run},
            progress_bar=False,
        )
    assert "MissingStepError" in str(err.value) and "run notebook 02_sft first" in str(err.value)
    assert (tmp_path / "run" / "data" / "sft_train.jsonl").exists()  # the data step is cheap: it was rebuilt


def test_papermill_sees_every_parameter():
    import ast

    import papermill as pm

    for path in notebook_paths():
        nb = json.loads(path.read_text())
        cell = next(c for c in nb["cells"] if "parameters" in c.get("metadata", {}).get("tags", []))
        tree = ast.parse("".join(cell["source"]))
        names = {
            t.id for node in tree.body if isinstance(node, ast.Assign) for t in node.targets if isinstance(t, ast.Name)
        }
        seen = set(pm.inspect_notebook(str(path)))
        assert seen == names, (path.name, names ^ seen)
        assert "run" in names and "exercise" in names, (path.name, names)  # every notebook has exercises
        assert len(names) <= 13, (path.name, names)  # the story's few settings, no plumbing


def test_notebooks_are_stripped_and_have_one_parameters_cell():
    for path in notebook_paths():
        nb = json.loads(path.read_text())
        tagged = [c for c in nb["cells"] if "parameters" in c.get("metadata", {}).get("tags", [])]
        assert len(tagged) == 1, path
        assert all(not c.get("outputs") for c in nb["cells"] if c["cell_type"] == "code"), path
        assert nb["metadata"]["kernelspec"]["name"] == "python3", path


def test_jupytext_pairs_agree():
    import jupytext

    scripts = sorted(NOTEBOOKS.glob("[0-9][0-9]_*.py"))
    assert [p.stem for p in scripts] == [p.stem for p in notebook_paths()]
    for script in scripts:
        a, b = jupytext.read(script), jupytext.read(script.with_suffix(".ipynb"))
        assert len(a.cells) == len(b.cells), script.name
        for i, (x, y) in enumerate(zip(a.cells, b.cells)):
            assert (x.cell_type, x.source.strip()) == (y.cell_type, y.source.strip()), f"{script.name} cell {i}"
            assert x.metadata.get("tags", []) == y.metadata.get("tags", []), f"{script.name} cell {i} tags"


def test_a_drifted_pair_is_caught(tmp_path):
    """The pair check above can fail: edit a copy of one side and compare again."""
    import jupytext

    script = tmp_path / "04_dpo.py"
    shutil.copy(NOTEBOOKS / "04_dpo.py", script)
    script.write_text(script.read_text().replace("beta = 0.1", "beta = 0.2"))
    a, b = jupytext.read(script), jupytext.read(NOTEBOOKS / "04_dpo.ipynb")
    assert [c.source for c in a.cells] != [c.source for c in b.cells]


def test_the_repository_url_lives_in_pyproject_only(tmp_path):
    res = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "set_repo_url.py"), "--check"], capture_output=True, text=True
    )
    assert res.returncode == 0, res.stdout
    sys.path.insert(0, str(ROOT / "scripts"))
    try:
        import set_repo_url
    finally:
        sys.path.pop(0)
    text = (NOTEBOOKS / "02_sft.py").read_text()
    moved = set_repo_url.rewritten(text, "https://github.com/someone/fork")
    assert "colab.research.google.com/github/someone/fork/blob/main/notebooks/02_sft.ipynb" in moved
    assert '"sfdpo[api] @ git+https://github.com/someone/fork"' in moved and set_repo_url.repository() in text


# --- the exercises: every worked solution runs in its sandbox and leaves the default run as it was ---------------


def file_hashes(run: Path) -> dict[str, str]:
    """sha256 of every file of a run, the exercises' sandboxes left out."""
    return {
        str(p.relative_to(run)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(run.rglob("*"))
        if p.is_file() and p.relative_to(run).parts[0] != "exercises"
    }


@pytest.fixture(scope="session")
def exercised(executed):
    """Run every exercise's worked solution (notebooks/solutions/) in its sandbox on the tiny run."""
    before = file_hashes(executed)
    for ex in exercises.EXERCISES:
        params = dict(exercises.solution(ex.notebook, ex.name)["parameters"])
        base = tiny_settings(executed, **({"judge": "self"} if ex.notebook == "07" else {}))  # as the run's 07
        cfg = settings.load(settings._merge(dataclasses.asdict(base), params.pop("run", {})))
        sandbox = executed / "exercises" / f"{ex.notebook}-{ex.name}"
        run_notebooks(cfg, {**TINY_STORY, **params, "exercise": ex.name}, [ex.notebook], sandbox / "executed")
    return before, file_hashes(executed)


def test_every_exercise_has_a_worked_solution_and_is_offered_by_its_notebook():
    names = {(e.notebook, e.name) for e in exercises.EXERCISES}
    files = {tuple(p.stem.split("_", 1)) for p in exercises.SOLUTIONS.glob("*.yaml")}
    assert names == files
    for path in notebook_paths():
        offered = {e.name for e in exercises.of(path.name[:2])}
        assert len(offered) >= 2, path.name
        text = path.with_suffix(".py").read_text()
        for name in offered:
            assert f"(`{name}`)" in text, (path.name, name)  # named in its "Try this" list
        assert f'exercises.check(cfg, "{path.name[:2]}", exercise)' in text
    for e in exercises.EXERCISES:
        solution = exercises.solution(e.notebook, e.name)
        assert solution["parameters"] and len(solution["answer"]) > 100, e.name


def test_every_exercise_changes_what_it_is_about_and_passes_its_check(exercised, executed):
    for ex in exercises.EXERCISES:
        sandbox = executed / "exercises" / f"{ex.notebook}-{ex.name}"
        run, mine = pipeline.findings(executed, ex.notebook), pipeline.findings(sandbox, ex.notebook)
        assert run and mine and run != mine, ex.name
        result = ex.judge(run, mine)
        assert result.ok, f"{ex.notebook} {ex.name}: {result}"
        assert "CHECK PASSED" in cells_text(sandbox / "executed" / f"{notebook_paths([ex.notebook])[0].name}"), ex.name


def test_exercises_leave_every_file_of_the_default_run_byte_identical(exercised):
    before, after = exercised
    assert before.keys() == after.keys()
    changed = [name for name in before if before[name] != after[name]]
    assert not changed, changed


def test_an_exercise_check_fails_when_the_change_did_not_happen():
    """The checks can fail: the main run's findings against themselves, or a loss curve that moved."""
    two_epochs = exercises.find("02", "two_epochs")
    run = {"steps": 20, "epochs": 1.0, "eval_loss": {}, "win_rate": {}}
    assert not two_epochs.judge(run, run).ok
    micro = exercises.find("02", "micro_batch_1")
    run = {"losses": [2.0, 1.8], "micro_batch_size": 4, "batch_size": 8}
    assert micro.judge(run, {**run, "micro_batch_size": 1}).ok
    assert not micro.judge(run, {**run, "micro_batch_size": 1, "losses": [2.0, 1.5]}).ok  # averaged per micro-batch?
    eta = exercises.find("07", "eta_0.6")
    assert not eta.judge({"khaki_eta": 0.85, "khaki_pairs": 9}, {"khaki_eta": 0.6, "khaki_pairs": 7}).ok
    wrong = exercises.find("03", "wrong_answer")
    fooled = {"answer": "82", "score": 1.0, "task": 1, "read": "states 82", "best_wrong": 0.4}
    assert not wrong.judge({}, {"wrong_answer": fooled}).ok  # read as right: no gate was met
    assert wrong.judge({}, {"wrong_answer": {**fooled, "score": 0.4, "task": 0}}).ok
    labels = exercises.find("03", "hand_labels")
    h = {"n": 4, "yours": [1, 0, 0, 0], "reward": [1, 1, 0, 0], "agreement": 0.75, "chance": 0.5, "kappa": 0.5}
    assert labels.judge({}, {"hand_labels": h}).ok
    assert not labels.judge({}, {"hand_labels": {**h, "kappa": 0.75}}).ok  # κ is not the agreement


def test_every_story_parameter_has_a_range_and_a_moved_value_inside_it():
    import ast

    from sfdpo_helpers import story

    for path in notebook_paths():
        number = path.name[:2]
        nb = json.loads(path.read_text())
        cell = next(c for c in nb["cells"] if "parameters" in c.get("metadata", {}).get("tags", []))
        defaults = settings._assignments("".join(cell["source"]))
        names = set(defaults) - {"run", "exercise", "instruct_model", "run_name", "prompt_pool"}  # plumbing
        assert names == set(story.RANGES.get(number, {})), (path.name, names ^ set(story.RANGES.get(number, {})))
        moved = story.MOVED.get(number, {})
        story.check(number, moved)  # inside the ranges
        assert all(moved[k] != ast.literal_eval(defaults[k]) for k in moved), path.name
    with pytest.raises(settings.ParameterError, match=r"beta=5\.0 \(must be a number from 0\.01 to 1\.0\)"):
        story.check("04", {"beta": 5.0})
    with pytest.raises(settings.ParameterError, match="schedule"):
        story.check("07", {"schedule": [(0.7, 3)]})  # 3 answers cannot make a best and a bottom 3


@pytest.mark.slow
def test_every_notebook_runs_with_all_its_story_parameters_moved(tmp_path):
    """A student moves every story parameter inside its documented range at once: each notebook still runs to the
    end (07 with the self-judge, whose continuous scores leave preferences to learn from at the tiny size), and the
    shipped default files are untouched."""
    from sfdpo_helpers import story

    shipped = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(data_dir().glob("*"))}
    cfg = tiny_settings(tmp_path / "moved")
    for number in ("01", "02", "03", "04", "05", "06"):
        run_notebooks(cfg, story.MOVED.get(number, {}), only=[number])
    run_notebooks(tiny_settings(tmp_path / "moved", judge="self"), story.MOVED["07"], only=["07"])
    assert (tmp_path / "moved" / "models" / "selfimprove2" / "config.json").exists()  # rounds = 2 ran both
    assert shipped == {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(data_dir().glob("*"))}


def data_dir():
    from sfdpo_helpers import data

    return data.DEMO_DIR
