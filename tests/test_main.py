"""The main job: -p splits run settings from notebook parameters, --grid names its runs, the console shows
progress lines only (the rest of a notebook's output stays in its executed copy)."""

import pytest

from sfdpo_helpers import main, settings


def test_overrides_split_into_run_settings_and_notebook_parameters():
    cfg, story = main.split_overrides(settings.load("offline"), {"dpo.lr": 5e-7, "base_model": "tiny", "beta": 0.5})
    assert (cfg.dpo.lr, cfg.dpo.epochs, cfg.base_model) == (5e-7, 1.0, "tiny") and story == {"beta": 0.5}
    with pytest.raises(settings.ParameterError, match="dpo setting"):
        main.split_overrides(settings.load("offline"), {"dpo.lrr": 1.0})


def test_an_unknown_parameter_stops_the_main_job_before_any_notebook(tmp_path):
    cfg = settings.load({"out_dir": str(tmp_path), "figures_dir": str(tmp_path / "figures")})
    with pytest.raises(settings.ParameterError, match=r"unknown parameter\(s\) \['betta'\]"):
        main.run_notebooks(cfg, {"betta": 0.5}, only=["04"])
    assert not (tmp_path / "executed" / "04_dpo.ipynb").exists()


@pytest.mark.parametrize(
    "line,shown",
    [
        ("step 10/20  loss 1.8167  45 s", True),
        ("step=10  eval_loss=2.427  win_rate=0.5625", True),
        ("160 examples, 20 steps/epoch, 20 steps, batch 8", True),
        ("sft-2e9f10141d9ddb49: 32/96 prompts sampled", True),
        ("dpo vs sft: 0.578 [0.523, 0.633] (W/T/L 30/55/11, n = 96): dpo is better", True),
        ("Loading weights:   0%|          | 0/272", False),
        ("<Figure size 1350x320 with 3 Axes>", False),
        ("/x/modeling_utils.py:3312: FutureWarning: deprecated", False),
    ],
)
def test_the_console_shows_progress_lines_only(line, shown):
    assert bool(main._PROGRESS.match(line)) is shown


def test_a_record_of_several_lines_keeps_its_progress_lines_only():
    import logging

    def record(text):
        return logging.LogRecord("papermill", logging.INFO, "", 0, text, None, None)

    shown = record("run: profile 'offline'\n96 prompts, 0 categorised\n")
    assert main._progress_line(shown) and shown.getMessage() == "run: profile 'offline'"
    verdict = record("categories ['a', 'b']: 50 prompts\nselfimprove1 vs rsdpo3: 0.540 [0.480, 0.610] (W/T/L 8/38/4)\n")
    assert main._progress_line(verdict) and verdict.getMessage().startswith("selfimprove1 vs rsdpo3: 0.540 [")
    two = record("step 1/6  loss 0.69  11 s\nstep 2/6  loss 0.66  27 s\n")
    assert main._progress_line(two) and two.getMessage() == "step 1/6  loss 0.69  11 s\n  | step 2/6  loss 0.66  27 s"
    assert not main._progress_line(record("Loading weights\n<Figure size 1350x320 with 3 Axes>\n"))


def test_the_main_job_ends_with_where_things_are_and_the_headline_table(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    headline = "| comparison | model | vs |\n|:--|:--|:--|\n| final vs base | selfimprove1 | base |"
    text = main.closing_report(
        [("01_data_prep.ipynb", 12.4)], 80.0, tmp_path / "runs" / "main", tmp_path / "fig", headline
    )
    assert "01_data_prep.ipynb" in text and "total" in text
    assert "results             runs/main/results.md" in text and "figures             fig/" in text
    assert "executed notebooks  runs/main/executed/" in text
    assert text.endswith(headline) and "95% bootstrap CI" in text
    elsewhere = main.closing_report([], 1.0, tmp_path.parent / "other", tmp_path / "fig", None)
    assert f"{tmp_path.parent / 'other' / 'results.md'}" in elsewhere and "No results summary" in elsewhere
