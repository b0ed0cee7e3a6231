"""The win-rate monitor: greedy answers judged against fixed baseline answers, silent from ``until_step`` on."""

from sfdpo_helpers.monitor import vs_start_model, win_rate_monitor


class LengthJudge:
    """Longer answer, higher score; counts its calls."""

    def __init__(self):
        self.calls = 0

    def score(self, prompts, responses):
        self.calls += 1
        return [float(len(r)) for r in responses]


PROMPTS = ["Say hi.", "Name a colour.", "Count to three."]


def test_the_monitor_judges_the_models_answers_against_the_baseline(tiny, tokenizer):
    judge = LengthJudge()
    monitor = win_rate_monitor(tokenizer, PROMPTS, judge, ["", "", ""], max_new_tokens=4, batch_size=2)
    row = monitor(tiny, step=1)
    assert judge.calls == 2  # the baseline once, the model's answers once
    assert set(row) == {"win_rate", "win_rate_ci_low", "win_rate_ci_high"}
    assert row["win_rate_ci_low"] <= row["win_rate"] <= row["win_rate_ci_high"]
    assert row["win_rate"] >= 0.5  # a non-empty answer beats an empty one under this judge


def test_the_monitor_is_silent_from_until_step_on(tokenizer):
    judge = LengthJudge()
    monitor = win_rate_monitor(tokenizer, PROMPTS, judge, ["a", "b", "c"], 4, 2, until_step=6)
    assert monitor(None, step=6) == {} and monitor(None, step=9) == {}  # no model needed: nothing generated
    assert judge.calls == 1


def test_the_start_model_monitor_is_off_without_prompts(tiny, tokenizer):
    assert vs_start_model(tiny, tokenizer, [], LengthJudge()) is None


def test_against_the_start_model_the_untrained_model_ties(tiny, tokenizer):
    monitor = vs_start_model(tiny, tokenizer, PROMPTS, LengthJudge(), max_new_tokens=4, batch_size=2)
    assert monitor(tiny, step=0)["win_rate"] == 0.5  # greedy decoding: the same answers, all ties


def test_the_monitors_decode_in_the_runs_precision(tiny, tokenizer, monkeypatch):
    from sfdpo_helpers import models, sampling

    monkeypatch.setattr(models, "cpu_has_native_bf16", lambda: True)  # "auto" would decode in bf16 here
    seen = []
    real_generate = sampling.generate

    def generate(*args, **kwargs):
        out = real_generate(*args, **kwargs)
        seen.append(kwargs.get("precision"))
        return out

    monkeypatch.setattr(sampling, "generate", generate)
    monitor = vs_start_model(tiny, tokenizer, PROMPTS, LengthJudge(), 3, 2, precision="no")
    monitor(tiny, step=1)
    assert seen == ["no", "no"]  # the start model's answers and the policy's
