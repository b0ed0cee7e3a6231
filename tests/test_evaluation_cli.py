"""The IFEval evaluation helper as a command: accuracies match the judge on the cached answers, and the
unrequested-format shares are printed beside them."""

import json

import pytest


def test_ifeval_cli_reports_the_judges_accuracies_and_caches(tmp_path, capsys, mini_dir):
    from sfdpo_helpers import data, evaluation, formats, judges

    cache = tmp_path / "answers"
    argv = ["tiny", str(mini_dir / "eval_prompts.jsonl"), "--n", "3", "--max-new-tokens", "6", "--cache", str(cache)]
    assert evaluation.main(argv) == 0
    out = capsys.readouterr().out
    printed = json.loads(out[out.index("{") :])
    shards = sorted(cache.glob("*/shard-*.jsonl"))
    answers = [r["responses"][0] for s in shards for r in data.read_jsonl(s)]
    expected = judges.evaluate(data.read_jsonl(mini_dir / "eval_prompts.jsonl")[:3], answers)
    assert printed["n_prompts"] == 3 and len(answers) == 3
    for key in ("prompt_strict", "prompt_loose", "instruction_strict", "instruction_loose"):
        assert printed[key] == expected[key]
    rows = data.read_jsonl(mini_dir / "eval_prompts.jsonl")[:3]
    assert printed["unrequested_formats"] == formats.unrequested_format_shares(rows, answers)
    mtimes = [s.stat().st_mtime_ns for s in shards]
    assert evaluation.main(argv) == 0  # a rerun reads the cached answers back
    assert [s.stat().st_mtime_ns for s in shards] == mtimes
    out = capsys.readouterr().out
    assert json.loads(out[out.index("{") :]) == printed


def test_ifeval_cli_prints_the_unrequested_format_shares_beside_the_accuracies(tmp_path, capsys, monkeypatch):
    from sfdpo_helpers import data, evaluation

    rows = [
        {"prompt": "Say hi.", "instruction_id_list": ["punctuation:no_comma"], "kwargs": [{}]},
        {"prompt": "Say bye.", "instruction_id_list": ["punctuation:no_comma"], "kwargs": [{}]},
        {"prompt": "Quote it.", "instruction_id_list": ["startend:quotation"], "kwargs": [{}]},
    ]
    data.write_jsonl(rows, tmp_path / "prompts.jsonl")
    answers = ['"Hi there."', "goodbye and see you again soon", '"Quoted, as asked but not closed.']
    monkeypatch.setattr(evaluation, "model_answers", lambda model, prompts, *args, **kwargs: answers)
    assert evaluation.main(["tiny", str(tmp_path / "prompts.jsonl"), "--cache", str(tmp_path / "cache")]) == 0
    out = capsys.readouterr().out
    printed = json.loads(out[out.index("{") :])
    assert printed["prompt_strict"] == pytest.approx(2 / 3)  # the third answer opens a quote it never closes
    shares = printed["unrequested_formats"]
    assert shares["unasked"] == {"quoted": 2, "json": 3, "lowercase": 3, "any": 2}
    assert (shares["quoted"], shares["lowercase"], shares["any"], shares["json"]) == (0.5, pytest.approx(1 / 3), 1.0, 0)
