"""Every notebook runs end to end through papermill on the tiny model, then passes nbval (lax)."""

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from sfdpo_helpers.main import notebook_paths, run_notebooks

MINI = Path(__file__).parent / "fixtures" / "mini"
# reduced parameters: the notebook takes those it knows (papermill's inspect), ignores the rest
TINY = {
    "model": "tiny",
    "base_model": "tiny",
    "source": str(MINI),
    "max_steps": 2,
    "eval_every": 1,
    "save_every": 1,
    "max_train_rows": 16,
    "max_new_tokens": 8,
    "n_eval_prompts": 6,
    "n_eval_pairs": 8,
    "n_monitor_prompts": 3,
    "sweep_max_steps": 1,
    "sweep_betas": [0.5],
    "sweep_lrs": [1e-3],
    "khaki_prompts": 2,
    "n_new_per_category": 3,
    "best_of_n": 2,
    "best_of_prompts": 3,
    "batch_size": 4,
    "micro_batch_size": 2,
}


@pytest.fixture(scope="module")
def executed(tmp_path_factory):
    out = tmp_path_factory.mktemp("run")
    run_notebooks(out, TINY, only=["01", "02", "03", "04", "05", "06"], figures_dir=out / "figures")
    # the tiny model's answers all score 0 under the verifiable judge, so there would be no preference
    # to learn from; the self-judge (continuous scores) exercises the whole self-improvement path
    run_notebooks(out, {**TINY, "judge": "self"}, only=["07"], figures_dir=out / "figures")
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
    assert names[:2] == ["01_data_prep.ipynb", "02_sft.ipynb"]
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


def test_02_trains_saves_and_plots(executed):
    assert (executed / "models" / "sft" / "model.safetensors").exists()
    history = json.loads((executed / "checkpoints" / "sft" / "history.json").read_text())
    assert [r["step"] for r in history if "loss" in r] == [1, 2]
    assert any("eval_loss" in r for r in history)
    assert (executed / "figures" / "02_sft_curves.png").exists()


def test_03_to_07_write_their_tables(executed):
    figures = executed / "figures"
    for name in (
        "03_win_rates.csv",
        "03_win_rates.png",
        "04_dpo_loss_margin.png",
        "04_sweep_margins.png",
        "05_table2_rs_dpo.csv",
        "05_rs_dpo_margins.png",
        "06_category_loss_rates.csv",
        "07_table3.csv",
        "07_table3.md",
    ):
        assert (figures / name).exists(), name
    table2 = (figures / "05_table2_rs_dpo.csv").read_text()
    assert "rsdpo1" in table2 and "rsdpo3" in table2
    table3 = (figures / "07_table3.md").read_text()
    assert "rsdpo3 | dpo" in table3 and "selfimprove1 | rsdpo3" in table3
    assert len(data_rows(executed / "data" / "curriculum_prompts.jsonl")) == 6  # 2 weakest categories x 3


def data_rows(path):
    return [json.loads(line) for line in Path(path).read_text().splitlines() if line.strip()]


def test_results_summary_compares_every_model(executed):
    from sfdpo_helpers.results import summarise

    table = summarise(executed, executed / "figures", base_model="tiny", n_eval_prompts=6, max_new_tokens=8)
    assert set(table[table.baseline == "base"].model) >= {"sft", "dpo", "rsdpo1", "rsdpo3", "selfimprove1"}
    text = (executed / "results.md").read_text()
    assert "Every model vs the base model" in text and "prompt_strict" in text
    assert (executed / "figures" / "win_rate_overview.png").exists()
    assert "Table 2" in text and "Table 3" in text
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
            str(notebook_paths(["01"])[0]),
            str(tmp_path / "out.ipynb"),
            parameters={"max_sft_row": 5, "out_dir": str(tmp_path)},
            progress_bar=False,
        )
    assert "ParameterError" in str(err.value) and "max_sft_row" in str(err.value)


def test_papermill_sees_every_parameter():
    import ast

    import papermill as pm

    for path in notebook_paths():
        nb = json.loads(path.read_text())
        cell = next(c for c in nb["cells"] if "parameters" in c.get("metadata", {}).get("tags", []))
        tree = ast.parse("".join(cell["source"]))
        names = {
            t.id
            for node in tree.body
            if isinstance(node, ast.Assign)
            for t in node.targets
            if isinstance(t, ast.Name) and not t.id.startswith("_")
        }
        seen = {k for k in pm.inspect_notebook(str(path)) if not k.startswith("_")}
        assert seen == names, (path.name, names ^ seen)


def test_notebooks_are_stripped_and_have_one_parameters_cell():
    for path in notebook_paths():
        nb = json.loads(path.read_text())
        tagged = [c for c in nb["cells"] if "parameters" in c.get("metadata", {}).get("tags", [])]
        assert len(tagged) == 1, path
        assert all(not c.get("outputs") for c in nb["cells"] if c["cell_type"] == "code"), path
