"""The IFEval evaluation helper as a command: accuracies match the judge on the cached answers."""

import json


def test_ifeval_cli_reports_the_judges_accuracies_and_caches(tmp_path, capsys, mini_dir):
    from sfdpo_helpers import data, evaluation, judges

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
    mtimes = [s.stat().st_mtime_ns for s in shards]
    assert evaluation.main(argv) == 0  # a rerun reads the cached answers back
    assert [s.stat().st_mtime_ns for s in shards] == mtimes
    out = capsys.readouterr().out
    assert json.loads(out[out.index("{") :]) == printed
