"""The notebooks' exercises: what each asks, how long it takes, and the check that says whether you got there.

Every "Try this" exercise runs its notebook again with one thing changed and ``exercise = "<name>"`` in the
parameters cell. The run goes to a sandbox (``settings.exercise_settings``: ``<out_dir>/exercises/<NN>-<name>/``)
that reads the main run's models and never writes over them. The notebook records what it found
(``pipeline.record``: ``findings/<NN>.json``) in the run and in the sandbox; the last cell calls :func:`check`,
which compares the two records and prints whether the change did what the exercise is about.

Worked solutions (the parameters and a discussion of what to see) are ``notebooks/solutions/<NN>_<name>.yaml``;
``python -m sfdpo_helpers.exercises 02 two_epochs`` runs one in its sandbox and prints its check.
"""

from __future__ import annotations

import argparse
import math
import sys
from collections.abc import Callable
from dataclasses import dataclass, field

from . import pipeline
from .settings import ROOT, RunSettings

SOLUTIONS = ROOT / "notebooks" / "solutions"


@dataclass
class Check:
    """The outcome of an exercise's check: ``ok`` (did the change do what the exercise is about) and the lines
    that say what moved, mine beside the run's."""

    ok: bool
    lines: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        head = "CHECK PASSED" if self.ok else "CHECK NOT PASSED"
        return "\n".join([head, *("  " + line for line in self.lines)])


@dataclass
class Exercise:
    notebook: str  # "02"
    name: str  # the value of the notebook's `exercise` parameter
    level: str  # easy, medium, hard
    task: str  # what to change and what to look at
    minutes: str  # measured time on 2 CPU cores (offline profile)
    judge: Callable[[dict, dict], Check]  # (the run's findings, the sandbox's findings) -> Check


def _f(x, digits: int = 3) -> str:
    return "n/a" if x is None else f"{x:.{digits}f}" if isinstance(x, float) else str(x)


# --- the checks: pure functions of two findings records ------------------------------------------


def _min_chars(run: dict, mine: dict) -> Check:
    ok = mine.get("min_response_chars", 0) > run.get("min_response_chars", 0) and mine["kept"] <= run["kept"]
    return Check(ok, [f"rows kept: {mine['kept']} (the run: {run['kept']}) with replies of at least "
                      f"{mine.get('min_response_chars')} characters (the run: {run.get('min_response_chars')})",
                      f"dropped as too short: {mine['dropped_short']} (the run: {run['dropped_short']})"])  # fmt: skip


def _cut(run: dict, mine: dict) -> Check:
    # a cut reply is decoded back to text; tokenizing that text again may differ from the cut by a token or two
    fits = mine["longest_response_tokens"] <= mine["max_response_tokens"] + 2
    ok = fits and mine["responses_truncated"] > run["responses_truncated"]
    return Check(ok, [f"replies cut at {mine['max_response_tokens']} tokens: {mine['responses_truncated']} of "
                      f"{mine['kept']} (the run, at {run['max_response_tokens']}: {run['responses_truncated']})",
                      f"longest kept reply: {mine['longest_response_tokens']} tokens"])  # fmt: skip


def _two_epochs(run: dict, mine: dict) -> Check:
    ok = mine["steps"] == round(run["steps"] * mine["epochs"] / run["epochs"]) and mine["epochs"] > run["epochs"]
    lines = [f"steps: {mine['steps']} (the run: {run['steps']})"]
    for name, key in (("eval loss", "eval_loss"), ("win rate vs the start model", "win_rate")):
        points = mine.get(key) or {}
        lines.append(f"{name} by step: " + ", ".join(f"{s}: {_f(v)}" for s, v in points.items()))
    lines.append("the study: eval loss kept falling while the win rate fell (its Figure 2): compare yours")
    return Check(ok, lines)


def _micro_batch(run: dict, mine: dict) -> Check:
    a, b = run["losses"], mine["losses"]
    worst = max((abs(x - y) / max(abs(x), 1e-8) for x, y in zip(a, b)), default=math.inf)
    ok = len(a) == len(b) and mine["micro_batch_size"] != run["micro_batch_size"] and worst < 0.02
    return Check(ok, [f"micro-batch {mine['micro_batch_size']} (the run: {run['micro_batch_size']}), same batch of "
                      f"{mine['batch_size']}: {len(b)} steps",
                      f"largest relative difference of a step's loss: {worst:.2e} (rounding only if < 0.02: the loss "
                      "is divided by the reply tokens of the whole batch, not averaged per micro-batch)"])  # fmt: skip


def _win(r: dict | None) -> str:
    return "n/a" if not r else f"{r['win_rate']:.3f} [{r['ci_low']:.3f}, {r['ci_high']:.3f}] (n = {r['n']})"


def _self_judge_n(run: dict, mine: dict) -> Check:
    a, b = run.get("self_judge") or {}, mine.get("self_judge") or {}
    ok = bool(b) and b["n"] > a.get("n", 0)
    lines = [f"agreement on {b.get('n')} pairs: {_f(b.get('agreement'))} [{_f(b.get('ci_low'))}, "
             f"{_f(b.get('ci_high'))}], chance {_f(b.get('chance'))} (the run, {a.get('n')} pairs: "
             f"{_f(a.get('agreement'))} [{_f(a.get('ci_low'))}, {_f(a.get('ci_high'))}])",
             "better than chance only if the interval lies above the chance level"]  # fmt: skip
    return Check(ok, lines)


def _other_judge(run: dict, mine: dict) -> Check:
    ok = mine["judge"] != run["judge"]
    return Check(ok, [f"sft vs base with the {mine['judge']} judge: {_win(mine['sft_vs_base'])}",
                      f"with the {run['judge']} judge (the run): {_win(run['sft_vs_base'])}"])  # fmt: skip


def _wrong_answer(run: dict, mine: dict) -> Check:
    w = mine["wrong_answer"]
    ok = w["task"] == 0 and w["score"] <= w["best_wrong"] + 1e-9
    lines = [f"your answer scores {w['score']:.3f}; the task rule read: {w['read']}"]
    if w["task"]:
        lines.append("the reward reads it as RIGHT: if it is wrong, you found a hole in the task rule (what it read)")
    else:
        lines.append(f"a wrong answer scores at most {w['best_wrong']:.2f} (task 0, all else perfect): the gate held")
    return Check(ok, lines)


def _hand_labels(run: dict, mine: dict) -> Check:
    h = mine["hand_labels"]
    from .judges import cohen_kappa

    ok = h["n"] >= 1 and abs(cohen_kappa(h["yours"], h["reward"]) - h["kappa"]) < 1e-9  # the notebook's κ again
    differ = sum(a != b for a, b in zip(h["yours"], h["reward"]))
    lines = [f"{h['n']} labels: agreement {h['agreement']:.3f} (chance at these rates {h['chance']:.3f}), "
             f"κ = {h['kappa']:.3f}",
             f"you called {sum(h['yours'])} right, the reward {sum(h['reward'])}; {differ} disagreements "
             "(listed in section 3b)"]  # fmt: skip
    return Check(ok, lines)


def _dpo_end(f: dict, key: str) -> str:
    return _f((f.get("final") or {}).get(key))


def _beta(run: dict, mine: dict) -> Check:
    # the first step's policy is the reference, so its loss is log 2 up to rounding: under bf16 autocast the summed
    # log-probs of policy and reference differ by a few hundredths of a nat, which β multiplies
    ok = mine["beta"] != run["beta"] and math.isclose(mine["first_loss"], math.log(2), abs_tol=0.02)
    lines = [f"β = {mine['beta']} (the run: {run['beta']}); first step's loss {mine['first_loss']:.4f} "
             f"(the run: {run['first_loss']:.4f}; log 2 = {math.log(2):.4f}, up to rounding × β)"]  # fmt: skip
    for key in ("rewards/margins", "rewards/accuracies", "loss"):
        lines.append(f"{key} at the end: {_dpo_end(mine, key)} (the run: {_dpo_end(run, key)})")
    lines.append(f"dpo vs sft: {_win(mine.get('dpo_vs_sft'))} (the run: {_win(run.get('dpo_vs_sft'))})")
    return Check(ok, lines)


def _kl(run: dict, mine: dict) -> Check:
    up = (mine.get("final") or {}).get("logps/rejected", -math.inf) > (run.get("final") or {}).get(
        "logps/rejected", math.inf
    )
    ok = mine["kl_weight"] > run["kl_weight"]
    lines = [f"λ_KL = {mine['kl_weight']} (the run: {run['kl_weight']})"]
    for key in ("logps/rejected", "logps/chosen", "kl", "rewards/margins"):
        lines.append(f"{key} at the end: {_dpo_end(mine, key)} (the run: {_dpo_end(run, key)})")
    lines.append(
        "log π(y-) ended higher than without the term: it pulls the rejected answer up, against DPO"
        if up
        else "log π(y-) did not end higher here: look at the curves (figures) step by step"
    )
    return Check(ok, lines)


def _dpop_form(run: dict, mine: dict) -> Check:
    a, b = run.get("dpop") or {}, mine.get("dpop") or {}
    ok = bool(b) and b.get("in_sigmoid") != a.get("in_sigmoid")
    return Check(ok, [f"DPO-Positive in the sigmoid: {b.get('in_sigmoid')}; chosen reward at the end "
                      f"{_f(b.get('rewards/chosen'))}, penalty {_f(b.get('dpop'))} (additive, the run: "
                      f"{_f(a.get('rewards/chosen'))}, penalty {_f(a.get('dpop'))})"])  # fmt: skip


def _greedy_rejected(run: dict, mine: dict) -> Check:
    differ = sum(a != b for a, b in zip(mine["samples"], run["samples"]))
    ok = mine["sample_temperature"] != run["sample_temperature"] and differ > 0
    lines = [f"rejected answers sampled at T = {mine['sample_temperature']} (the run: {run['sample_temperature']}); "
             f"{differ} of {len(mine['samples'])} samples differ from the run's (the samples are cached by "
             "temperature, model, seed and budget: a cache keyed by less would have returned the run's)"]  # fmt: skip
    for name in sorted(mine.get("margins", {})):
        lines.append(f"{name}: final margin {_f(mine['margins'][name])} (the run: {_f(run['margins'].get(name))}), "
                     f"vs DPO {_win(mine['vs_dpo'].get(name))} (the run: {_win(run['vs_dpo'].get(name))})")  # fmt: skip
    return Check(ok, lines)


def _mixture(run: dict, mine: dict) -> Check:
    new = sorted(set(mine.get("vs_dpo", {})) - set(run.get("vs_dpo", {})))
    lines = [f"{n}: vs DPO {_win(mine['vs_dpo'][n])}, final margin {_f(mine['margins'][n])}" for n in new]
    lines += [f"{n} (the run): vs DPO {_win(r)}" for n, r in sorted(run.get("vs_dpo", {}).items())]
    return Check(bool(new), lines)


def _weakest(run: dict, mine: dict) -> Check:
    ok = len(mine["weakest"]) == mine["n_weakest"] > run["n_weakest"]
    added = mine["rates"].get(mine["weakest"][-1], "n/a") if mine["weakest"] else "n/a"
    return Check(ok, [f"weakest: {mine['weakest']} (the run: {run['weakest']})",
                      f"new prompts: {mine['new_prompts']} (the run: {run['new_prompts']})",
                      f"the added category's loss rate: {added}"])  # fmt: skip


def _min_prompts(run: dict, mine: dict) -> Check:
    ok = mine["min_prompts_per_category"] != run["min_prompts_per_category"] and mine["note"] != run["note"]
    return Check(ok, [f"with at least {mine['min_prompts_per_category']} prompts per category: {mine['weakest']} "
                      f"(the run, {run['min_prompts_per_category']}: {run['weakest']})",
                      f"what the ranking can tell now: {mine['note']}"])  # fmt: skip


def _rounds(run: dict, mine: dict) -> Check:
    ok = len(mine["pairs_per_round"]) > len(run["pairs_per_round"]) or mine.get("stopped_early", False)
    return Check(ok, [f"pairs per round: {mine['pairs_per_round']} (the run: {run['pairs_per_round']})",
                      f"ties in round 1's samples: {mine.get('ties')}",
                      "fewer pairs in round 2 means the model's 8 answers agree more: less left to learn"])  # fmt: skip


def _eta(run: dict, mine: dict) -> Check:
    ok = mine["khaki_eta"] < run["khaki_eta"] and mine["khaki_pairs"] >= run["khaki_pairs"]
    return Check(ok, [f"Khaki pairs at η = {mine['khaki_eta']}: {mine['khaki_pairs']} (the run, η = "
                      f"{run['khaki_eta']}: {run['khaki_pairs']}); a lower η keeps every pair it kept before, and "
                      f"pairs whose rewards are closer"])  # fmt: skip


def _worst(run: dict, mine: dict) -> Check:
    ok = mine["rejected_rule"] == "worst" and mine["rejected_is_lowest"] == mine["pairs_per_round"][0]
    lines = [
        f"rejected = the lowest score in {mine['rejected_is_lowest']} of {mine['pairs_per_round'][0]} pairs "
        f"(the run's random one of the bottom 3: {run['rejected_is_lowest']} of {run['pairs_per_round'][0]})"
    ]
    for key in ("selfimprove_vs_dpo", "selfimprove_vs_rsdpo3"):
        lines.append(f"{key.replace('_', ' ')}: {_win(mine.get(key))} (the run: {_win(run.get(key))})")
    return Check(ok, lines)


EXERCISES = [
    Exercise("01", "min_chars_200", "easy", 'run = {"min_response_chars": 200}: how many rows are dropped now?',
             "10 s (measured)", _min_chars),
    Exercise("01", "cut_32", "medium", 'run = {"max_response_tokens": 32}: how many replies are cut, and where '
             "does a cut reply end?", "10 s (measured)", _cut),
    Exercise("02", "two_epochs", "easy", 'run = {"sft": {"epochs": 2.0}}: does the eval loss keep falling? And the '
             "win rate against the start model?", "6 min (measured)", _two_epochs),
    Exercise("02", "micro_batch_1", "medium", 'run = {"micro_batch_size": 1}: the loss curve should not change. Why?',
             "8-11 min (measured 11 min, CPU shared half the time)", _micro_batch),
    Exercise("03", "self_judge_64", "easy", "n_self_judge = 64: does the self-judge agree with the run's "
             "judge more often than chance?", "1½ min (measured)", _self_judge_n),
    Exercise("03", "wrong_answer", "easy", "wrong_answer = a wrong answer that follows every instruction: can it "
             "score ≥ 0.9? Which rule stops it?", "20 s (measured)", _wrong_answer),
    Exercise("03", "hand_labels", "medium", "my_labels = your r/w labels of section 3b's answers: how often do you "
             "agree with the reward, and what is κ?", "20 s (measured)", _hand_labels),
    Exercise("03", "self_judge_as_main", "medium", 'run = {"judge": "self"}: is SFT still better than the base when '
             "the model itself judges?", "3 min (measured)", _other_judge),
    Exercise("04", "beta_0.5", "easy", "beta = 0.5: the loss still starts at log 2; how do the margins and the "
             "win rate move?", "4 min (measured)", _beta),
    Exercise("04", "kl_on", "medium", "kl_weight = 1.0: watch logps/rejected: which way does the KL term push it?",
             "4½ min (measured)", _kl),
    Exercise("04", "dpop_in_sigmoid", "hard", "dpop_in_sigmoid = True: when does the penalty stop acting, and why?",
             "5 min (measured)", _dpop_form),
    Exercise("05", "greedy_rejected", "easy", "sample_temperature = 0.0: greedy rejected answers: does RS-DPO1 "
             "separate its pairs even faster?", "3 min (measured)", _greedy_rejected),
    Exercise("05", "rsdpo2", "medium", 'run = {"rs_dpo_fractions": [0.2]}: the study\'s RS-DPO2 (20% self-sampled): '
             "where does it land between RS-DPO1 and RS-DPO3?", "1½ min (measured)", _mixture),
    Exercise("06", "three_weakest", "easy", "n_weakest = 3: does the third category's interval exclude ½?",
             "10 s (measured)", _weakest),
    Exercise("06", "min_prompts_10", "medium", "min_prompts_per_category = 10: which categories can still be picked?",
             "10 s (measured)", _min_prompts),
    Exercise("07", "two_rounds", "medium", "rounds = 2: does the second round still find preferences?",
             "4 min (measured)", _rounds),
    Exercise("07", "eta_0.6", "medium", "khaki_eta = 0.6: how many more pairs, and how close are their two answers?",
             "2½ min (measured)", _eta),
    Exercise("07", "worst_rejected", "hard", 'rejected_rule = "worst": which rejected answer teaches more?',
             "2 min (measured)",
             _worst),
]  # fmt: skip


def of(notebook: str) -> list[Exercise]:
    return [e for e in EXERCISES if e.notebook == notebook]


def find(notebook: str, name: str) -> Exercise:
    for e in of(notebook):
        if e.name == name:
            return e
    raise KeyError(f"notebook {notebook} has no exercise {name!r}; it has {[e.name for e in of(notebook)]}")


def menu(notebook: str) -> str:
    rows = [f"| `{e.name}` | {e.level} | {e.task} | {e.minutes} |" for e in of(notebook)]
    return "\n".join(["| exercise | level | what to change | 2 CPU cores |", "|---|---|---|---|", *rows])


def check(cfg: RunSettings, notebook: str, exercise: str = "") -> Check | None:
    """The last cell of a notebook: in the main run, the list of its exercises; in an exercise's sandbox, the
    exercise's check (this sandbox's findings against the run's), printed and returned."""
    if not exercise:
        from IPython.display import Markdown, display

        display(Markdown(menu(notebook)))
        print(f'To do one: set exercise = "<name>" in the parameters cell, make the change, run all cells. '
              f"Worked solutions: notebooks/solutions/{notebook}_<name>.yaml")  # fmt: skip
        return None
    run, mine = pipeline.findings(cfg.reads_from, notebook), pipeline.findings(cfg.out, notebook)
    if not run:
        raise RuntimeError(f"{cfg.reads_from} has no findings of notebook {notebook}: run it once without an exercise")
    try:
        exercise_ = find(notebook, exercise)
    except KeyError:
        print(f"{exercise!r} is a sandbox of your own (no check): findings in {cfg.out / 'findings'}")
        return None
    try:
        result = exercise_.judge(run, mine)
    except KeyError as missing:
        result = Check(False, [f"this sandbox did not record {missing}: did the notebook run to the end?"])
    print(result)
    return result


def solution(notebook: str, name: str) -> dict:
    """The worked solution of an exercise: ``parameters`` (papermill parameters; ``run`` holds the run-setting
    changes) and ``answer`` (what to see and why), from ``notebooks/solutions/<NN>_<name>.yaml``."""
    import yaml

    return yaml.safe_load((SOLUTIONS / f"{notebook}_{name}.yaml").read_text())


def run_solution(notebook: str, name: str, run: str | dict = "offline") -> Check | None:
    """Execute notebook ``notebook`` with the worked solution of exercise ``name`` in its sandbox (papermill), and
    return its check."""
    import dataclasses

    from . import main, settings

    params = dict(solution(notebook, name)["parameters"])
    base = settings.load(run)
    cfg = settings.load(settings._merge(dataclasses.asdict(base), params.pop("run", {})))
    executed = base.out / "exercises" / f"{notebook}-{name}" / "executed"
    main.run_notebooks(cfg, {**params, "exercise": name}, [notebook], executed)
    sandbox = settings.exercise_settings(cfg, notebook, name)
    return find(notebook, name).judge(pipeline.findings(base.out, notebook), pipeline.findings(sandbox.out, notebook))


def cli(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="Run an exercise's worked solution in its sandbox and print its check.")
    ap.add_argument("notebook", help="e.g. 02")
    ap.add_argument("name", nargs="?", help="the exercise (none: list the notebook's exercises)")
    ap.add_argument("--run", default="offline", help="the run whose sandbox it is: offline, colab, study or a YAML")
    args = ap.parse_args(argv)
    if not args.name:
        print(menu(args.notebook))
        return 0
    result = run_solution(args.notebook, args.name, args.run)
    print(result)
    return 0 if result is not None and result.ok else 1


if __name__ == "__main__":
    sys.exit(cli())
