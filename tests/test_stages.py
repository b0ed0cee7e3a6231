"""stages: the study's 8 samples per prompt; a self-improvement round uses the scores its caller already has."""

from pathlib import Path

import pytest

from sfdpo_helpers import sampling, settings, stages, training
from sfdpo_helpers.models import tiny_model

PROMPTS = ["Name a colour.", "Write one word about the sea."]
REWARDS = [[0.0, 1.0, 0.5, 0.5, 0.0, 0.25, 0.0, 1.0], [0.5] * 8]  # the second prompt ties: dropped


class Table:
    """A judge that returns fixed rewards per prompt and counts its calls."""

    def __init__(self, rewards):
        self.rewards, self.calls = dict(zip(PROMPTS, rewards)), 0

    def score(self, prompts, responses):
        self.calls += 1
        return list(self.rewards[prompts[0]])


@pytest.fixture
def run(tmp_path, tokenizer):
    training.save_model(tiny_model(tokenizer, seed=0), tokenizer, tmp_path / "start")
    cfg = settings.load(
        {
            "base_model": "tiny",
            "out_dir": str(tmp_path / "run"),
            "figures_dir": str(tmp_path / "figures"),
            "batch_size": 2,
            "micro_batch_size": 2,
            "max_new_tokens": 4,
            "gen_batch_size": 16,
            "self_improve": {"lr": 1e-3, "epochs": 1.0},
        }
    )
    return cfg, str(tmp_path / "start"), [{"prompt": p} for p in PROMPTS]


def test_given_rewards_make_the_same_pairs_without_asking_the_judge(run):
    cfg, start, rows = run
    judged = Table(REWARDS)
    path, asked, dropped, _ = stages.self_improvement_round(cfg, start, rows, judged, 1)
    assert judged.calls == 2 and len(asked) == 1 and dropped == {"best and worst tie": 1}

    silent = Table(REWARDS)
    _, given, _, _ = stages.self_improvement_round(cfg, start, rows, silent, 1, rewards=REWARDS)
    assert silent.calls == 0 and given == asked and Path(path).is_dir()


def test_rewards_of_another_shape_are_refused(run):
    cfg, start, rows = run
    with pytest.raises(ValueError, match=r"rewards per prompt \[8\] do not match samples per prompt \[8, 8\]"):
        stages.self_improvement_round(cfg, start, rows, Table(REWARDS), 1, rewards=REWARDS[:1])


def test_eight_samples_follow_the_study_schedule_and_are_drawn_once(run, tokenizer, monkeypatch):
    cfg, start, _ = run
    model = tiny_model(tokenizer, seed=0)
    out = stages.eight_samples(cfg, model, tokenizer, PROMPTS, "eight", seed=1)
    assert [[s["temperature"] for s in row] for row in out] == [[0.2, 0.2, 0.7, 0.7, 0.7, 1.2, 1.2, 1.2]] * 2
    assert all(isinstance(s["response"], str) for row in out for s in row)
    with monkeypatch.context() as patched:
        patched.setattr(sampling, "generate", lambda *a, **k: pytest.fail("the samples are cached: none is drawn"))
        assert stages.eight_samples(cfg, model, tokenizer, PROMPTS, "eight", seed=1) == out
    other = tiny_model(tokenizer, seed=1)  # other weights: sampled anew, never read from the first model's shards
    assert stages.eight_samples(cfg, other, tokenizer, PROMPTS, "eight", seed=1) != out


def test_a_schedule_passed_in_decides_the_samples(run, tokenizer):
    cfg, _, _ = run
    model = tiny_model(tokenizer, seed=0)
    out = stages.eight_samples(cfg, model, tokenizer, PROMPTS, "eight", seed=1, schedule=((0.5, 1), (1.0, 2)))
    assert [[s["temperature"] for s in row] for row in out] == [[0.5, 1.0, 1.0]] * 2
    with pytest.raises(ValueError, match=r"schedule entry 1 is \(0.0, 2\); each entry is \(temperature > 0"):
        stages.eight_samples(cfg, model, tokenizer, PROMPTS, "eight", seed=1, schedule=((0.5, 1), (0.0, 2)))


def test_the_rejected_rule_reaches_the_pairs_and_an_unknown_one_is_refused(run):
    cfg, start, rows = run
    spread = [[0.0, 1.0, 0.5, 0.5, 0.9, 0.25, 0.8, 1.0], [0.5] * 8]  # the bottom 3 of prompt 1: 0.0, 0.25, 0.5
    _, worst, _, _ = stages.self_improvement_round(
        cfg, start, rows, Table(REWARDS), 1, rewards=spread, rejected_rule="worst", schedule=((0.7, 8),)
    )
    assert [p["reward_rejected"] for p in worst] == [0.0] and worst[0]["reward_chosen"] == 1.0
    with pytest.raises(ValueError, match="unknown rejected_rule 'best'"):
        stages.self_improvement_round(cfg, start, rows, Table(REWARDS), 1, rejected_rule="best")
