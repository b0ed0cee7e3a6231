"""The results summary's headline table, its self-describing header and its published copy, on hand-made
tables (the summary of a real tiny run is tested in test_notebooks.py)."""

import datetime
import json

import pandas as pd
import pytest

from sfdpo_helpers import models, results, settings
from sfdpo_helpers.winrate import WinRate


def row(model, baseline, rate, low, high, wins, ties, losses, n=96):
    return WinRate(rate, n, low, high, wins, ties, losses, model=model, baseline=baseline).as_row()


def summary_tables():
    """A run's ``results.csv`` and ``results_table3.csv`` as the summary writes them (pairs in its order)."""
    table = pd.DataFrame(
        [
            row("sft", "base", 0.630, 0.568, 0.688, 32, 57, 7),
            row("dpo", "base", 0.703, 0.641, 0.766, 46, 43, 7),
            row("rsdpo1", "base", 0.578, 0.516, 0.635, 27, 57, 12),
            row("rsdpo3", "base", 0.651, 0.594, 0.708, 36, 53, 7),
            row("selfimprove1", "base", 0.677, 0.615, 0.734, 40, 50, 6),
            row("dpo", "rsdpo3", 0.583, 0.526, 0.641, 25, 62, 9),
            row("dpo", "rsdpo1", 0.6458333, 0.589, 0.703, 34, 56, 6),
            row("sft", "dpo", 0.4270833, 0.365, 0.495, 14, 54, 28),
        ]
    )
    table3 = pd.DataFrame(
        [
            row("rsdpo3", "dpo", 0.417, 0.359, 0.474, 9, 62, 25),
            row("selfimprove1", "dpo", 0.484, 0.417, 0.547, 17, 59, 20),
            row("selfimprove1", "rsdpo3", 0.547, 0.495, 0.599, 17, 71, 8),
        ]
    )
    return table, table3


def test_the_headline_holds_final_vs_base_dpo_vs_sft_table2_and_table3():
    headline, missing = results.headline_comparisons(*summary_tables())
    assert missing == []
    assert list(headline.columns) == ["comparison", "model", "vs", "win rate", "95% CI", "W / T / L", "n"]
    rows = [tuple(r) for r in headline.itertuples(index=False)]
    assert rows == [
        ("final vs base", "selfimprove1", "base", "0.677", "[0.615, 0.734]", "40 / 50 / 6", "96"),
        ("DPO vs SFT", "dpo", "sft", "0.573", "[0.505, 0.635]", "28 / 54 / 14", "96"),  # read from sft vs dpo
        ("Table 2", "rsdpo1", "dpo", "0.354", "[0.297, 0.411]", "6 / 56 / 34", "96"),
        ("Table 2, Table 3", "rsdpo3", "dpo", "0.417", "[0.359, 0.474]", "9 / 62 / 25", "96"),
        ("Table 3", "selfimprove1", "dpo", "0.484", "[0.417, 0.547]", "17 / 59 / 20", "96"),
        ("Table 3", "selfimprove1", "rsdpo3", "0.547", "[0.495, 0.599]", "17 / 71 / 8", "96"),
    ]


def test_a_run_without_some_models_names_the_comparisons_it_lacks():
    table, _ = summary_tables()
    sft_only = table[(table.model == "sft") & (table.baseline == "base")]
    headline, missing = results.headline_comparisons(sft_only, pd.DataFrame())
    assert list(headline.model) == ["sft"]  # without self-improvement the final model is the last trained one
    assert missing == ["DPO vs SFT (dpo vs sft)"]
    text = results.headline_markdown(headline, missing)
    assert "| final vs base | sft" in text and text.endswith("Not in this run: DPO vs SFT (dpo vs sft).")


def test_the_headline_reads_back_from_the_summary_files(tmp_path):
    table, table3 = summary_tables()
    table.to_csv(tmp_path / "results.csv", index=False)
    table3.to_csv(tmp_path / "results_table3.csv", index=False)
    text = results.headline_from_files(tmp_path)
    assert "| DPO vs SFT" in text and "| 0.573      | [0.505, 0.635] | 28 / 54 / 14" in text
    (tmp_path / "results_table3.csv").write_text("\n")  # the summary of a run without Table 3's models
    assert "Table 3" not in results.headline_from_files(tmp_path)


def test_the_page_header_says_machine_versions_precision_date_and_profile():
    machine = {"gpu": "none", "cpu": "Some CPU, 2 usable cores of 2", "os": "Linux-6", "versions": "torch 9.9"}
    when = datetime.datetime(2025, 1, 2, 3, 4, tzinfo=datetime.UTC)
    header = "\n".join(results.run_description(settings.load("offline"), machine, when))
    assert "2025-01-02 03:04 UTC" in header and "profile `offline`, changed: nothing" in header
    assert f"precision: {models.mixed_precision('auto')} (`mixed_precision: auto`" in header
    assert "GPU: none; CPU: Some CPU, 2 usable cores of 2" in header and "OS: Linux-6; torch 9.9" in header
    fp32 = "\n".join(results.run_description(settings.load({"mixed_precision": "no"}), machine, when))
    assert "precision: no (`mixed_precision: no`" in fp32 and "changed: {'mixed_precision': 'no'}" in fp32


def test_the_machine_description_names_cores_and_library_versions():
    import os

    import torch
    import transformers

    machine = results.machine_description()
    assert f"of {os.cpu_count()}" in machine["cpu"] and machine["gpu"] == (
        "none" if not torch.cuda.is_available() else machine["gpu"]
    )
    assert f"torch {torch.__version__}" in machine["versions"]
    assert f"transformers {transformers.__version__}" in machine["versions"]


def test_publish_copies_the_page_and_its_figures_and_names_the_missing_ones(tmp_path):
    cfg = settings.load({"out_dir": str(tmp_path / "run"), "figures_dir": str(tmp_path / "figures")})
    cfg.out.mkdir()
    cfg.figures.mkdir()
    (cfg.out / "results.md").write_text("# Results\n\n- made: today\n")
    (cfg.figures / "win_rate_overview.png").write_bytes(b"png")
    (cfg.figures / "07_answer_lengths.md").write_text("| a |")
    missing = results.publish(cfg, tmp_path / "docs" / "offline_run")
    assert missing == ["04_dpo_vs_dpop_chosen_reward.png", "07_what_limits_it.md"]
    page = (tmp_path / "docs" / "offline_run" / "results.md").read_text()
    assert page.startswith("# Results\n\n- made: today\n")
    assert "- [win_rate_overview.png](win_rate_overview.png)" in page
    assert "- 07_what_limits_it.md: not written by this run" in page
    assert (tmp_path / "docs" / "offline_run" / "win_rate_overview.png").read_bytes() == b"png"
    assert "Made by sfdpo 0.1.0" in page and "none: the run kept no executed notebooks" in page


def test_published_notebooks_show_progress_bars_in_their_final_state(tmp_path):
    from sfdpo_helpers import published

    assert published.final_progress("  0%|   | 0/272\r 50%|#  | 136/272\r100%|###| 272/272\nnext") == (
        "100%|###| 272/272\nnext"
    )
    executed = tmp_path / "executed"
    executed.mkdir()
    cell = {"cell_type": "code", "source": "", "metadata": {}, "execution_count": 1,
            "outputs": [{"output_type": "stream", "name": "stderr", "text": ["0/2\r", "2/2\n"]}]}  # fmt: skip
    (executed / "02_sft.ipynb").write_text(json.dumps({"cells": [cell], "metadata": {}, "nbformat": 4,
                                                       "nbformat_minor": 5}))  # fmt: skip
    assert published.copy_executed_notebooks(executed, tmp_path / "out") == ["02_sft.ipynb"]
    copied = json.loads((tmp_path / "out" / "02_sft.ipynb").read_text())
    assert copied["cells"][0]["outputs"][0]["text"] == "2/2\n"


def test_oriented_reads_a_comparison_from_either_side():
    table, _ = summary_tables()
    flipped = results.oriented(table, "dpo", "sft")
    assert flipped["win_rate"] == pytest.approx(1 - 0.4270833)
    assert (flipped["ci_low"], flipped["ci_high"]) == pytest.approx((0.505, 0.635))
    assert (flipped["wins"], flipped["losses"]) == (28, 14)
    assert results.oriented(table, "dpo", "selfimprove1") is None


def format_rows_and_answers():
    """Four IFEval rows (one asks for quotes) and two models' answers: the base quotes once unasked, the SFT
    model quotes every answer and writes one all in lowercase."""
    rows = [
        {"prompt": f"Prompt {i}.", "instruction_id_list": [iid], "kwargs": [{}]}
        for i, iid in enumerate(
            ["startend:quotation", "punctuation:no_comma", "punctuation:no_comma", "keywords:existence"]
        )
    ]
    rows[3]["kwargs"] = [{"keywords": ["sea"]}]
    answers = {
        "base": ['"Asked to quote."', '"Not asked."', "A plain answer.", "The sea."],
        "sft": ['"Asked to quote."', '"Not asked."', '"not asked either, and all in lowercase"', '"The sea."'],
    }
    return rows, answers


def test_the_unrequested_format_table_holds_every_models_shares_and_their_denominators():
    rows, answers = format_rows_and_answers()
    table = results.unrequested_format_table(rows, answers)
    assert list(table.index) == ["base", "sft"]
    assert table.loc["base", ["quoted", "json", "lowercase", "any"]].tolist() == pytest.approx([1 / 3, 0, 0, 1 / 3])
    assert table.loc["sft", ["quoted", "json", "lowercase", "any"]].tolist() == pytest.approx([1, 0, 1 / 4, 1])
    assert table.loc["sft", ["unasked_quoted", "unasked_json", "unasked_lowercase", "unasked_any"]].tolist() == [
        3, 4, 4, 3,
    ]  # fmt: skip
    text = "\n".join(results.unrequested_format_markdown(table))
    assert text.startswith("## Unrequested formats on the same prompts")
    assert "Prompts not asking: quoted 3, json 4, lowercase 4, any 3." in text
    assert "Above the target: sft (quoted 1.000 vs base 0.333); sft (lowercase 0.250 vs base 0.000)" in text
    assert "| base |    0.333 |      0 |        0    | 0.333 |" in text and "unasked_" not in text
    hub_rows = [{"prompt": r["prompt"]} for r in rows]  # no IFEval instructions: no table
    assert results.unrequested_format_table(hub_rows, answers) is None


class LengthJudge:
    def score(self, prompts, responses):
        return [float(len(r)) for r in responses]


@pytest.mark.parametrize("with_instructions", [True, False])
def test_the_summary_writes_the_unrequested_format_table_only_for_ifeval_prompts(
    tmp_path, monkeypatch, with_instructions
):
    from sfdpo_helpers import data, pipeline

    rows, answers = format_rows_and_answers()
    if not with_instructions:
        rows = [{"prompt": r["prompt"]} for r in rows]
    cfg = settings.load({"out_dir": str(tmp_path / "run"), "figures_dir": str(tmp_path / "figures")})
    data.write_jsonl(rows, cfg.out / "data" / "eval_prompts.jsonl")
    (cfg.out / "models" / "sft").mkdir(parents=True)
    (cfg.out / "models" / "sft" / "config.json").write_text("{}")
    by_path = {cfg.base_model: answers["base"], str(cfg.out / "models" / "sft"): answers["sft"]}
    monkeypatch.setattr(pipeline, "model_answers", lambda cfg, path, prompts: by_path[path])
    monkeypatch.setattr(pipeline, "judge", lambda cfg, rows, self_judge="": LengthJudge())
    results.summarise(cfg)
    page = (cfg.out / "results.md").read_text()
    csv = cfg.out / "results_unrequested_formats.csv"
    if not with_instructions:
        assert not csv.exists() and "Unrequested formats" not in page
        return
    written = pd.read_csv(csv, index_col=0)
    assert written.loc["sft", "quoted"] == 1.0 and written.loc["base", "quoted"] == pytest.approx(1 / 3)
    assert written.loc["base", "unasked_any"] == 3
    assert "## Unrequested formats on the same prompts" in page
    assert page.index("## IFEval-style accuracy") < page.index("## Unrequested formats") < page.index("## Table 2")
