"""stages: the study's 8 samples per prompt; a self-improvement round uses the scores its caller already has."""

from pathlib import Path

import pytest

from sfdpo_helpers import settings, stages, training
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


def test_eight_samples_follow_the_study_schedule_and_are_drawn_once(run, tokenizer):
    cfg, start, _ = run
    model = tiny_model(tokenizer, seed=0)
    out = stages.eight_samples(cfg, model, tokenizer, PROMPTS, "eight", seed=1)
    assert [[s["temperature"] for s in row] for row in out] == [[0.2, 0.2, 0.7, 0.7, 0.7, 1.2, 1.2, 1.2]] * 2
    assert all(isinstance(s["response"], str) for row in out for s in row)
    other = tiny_model(tokenizer, seed=1)  # other weights: only a cache hit gives the same answers
    assert stages.eight_samples(cfg, other, tokenizer, PROMPTS, "eight", seed=1) == out
