"""What a training stage changed in the answers: per reward component and per instruction, how many answers
gained and lost it, how their length moved, and one example.

A win rate near ½ can hide large changes that cancel out (one answer newly right, another newly wrong); a
student sees what DPO did only in the answers. :func:`what_changed` counts it from two models' answers to the
same prompts; the notebooks print its table and sentence after each verdict.
"""

from __future__ import annotations

import statistics
from collections.abc import Mapping, Sequence

import pandas as pd


def paired(judge, prompts, answers: Mapping, scores: Mapping, names: tuple[str, str], seed: int = 0):
    """:func:`winrate.paired_difference` of ``names[0]`` against ``names[1]``: the mean score difference and,
    with a judge that reads a task component (the gold reward), both task accuracies and McNemar's test."""
    from .winrate import paired_difference

    a, b = names
    tasks = task_scores(judge, prompts, {n: answers[n] for n in names})
    return paired_difference(scores[a], scores[b], tasks.get(a), tasks.get(b), seed=seed, model=a, baseline=b)


def _component_flips(judge, prompts, before, after) -> list[dict]:
    """Gained / lost counts of each gold-reward component (task 0 → 1 is gained; form or instructions up)."""
    if not hasattr(judge, "breakdown"):
        return []
    old = [judge.breakdown(p, a) for p, a in zip(prompts, before)]
    new = [judge.breakdown(p, a) for p, a in zip(prompts, after)]
    rows = []
    for name in ("task", "instructions", "form"):
        pairs = [(getattr(o, name), getattr(n, name)) for o, n in zip(old, new)]
        rows.append({"what": f"reward: {name}", "gained": sum(b > a for a, b in pairs),
                     "lost": sum(b < a for a, b in pairs)})  # fmt: skip
    return rows


def _instruction_flips(rows, before, after) -> list[dict]:
    """Gained / lost counts per IFEval instruction id (strict checks), for rows that carry instructions."""
    if not all(r.get("instruction_id_list") for r in rows):
        return []
    from .judges import changed_instructions

    lost, gained = changed_instructions(rows, before, after)
    ids = sorted({iid for _, iid in lost + gained})
    return [{"what": f"instruction: {iid}", "gained": sum(i == iid for _, i in gained),
             "lost": sum(i == iid for _, i in lost)} for iid in ids]  # fmt: skip


def what_changed(judge, rows: Sequence[Mapping], before: Sequence[str], after: Sequence[str],
                 names: tuple[str, str] = ("before", "after")) -> tuple[pd.DataFrame, str, int | None]:  # fmt: skip
    """(table, sentence, example index) of what changed from ``before`` to ``after`` (answers aligned with ``rows``):
    a row per reward component (with a judge that has ``breakdown``) and per instruction that some answer gained or
    lost; a sentence with how many answers changed at all and the median word counts; the index of a prompt whose
    task verdict changed (else whose answer changed; None when none did)."""
    if not (len(rows) == len(before) == len(after)):
        raise ValueError(f"{len(rows)} rows, {len(before)} and {len(after)} answers")
    prompts = [r["prompt"] for r in rows]
    table = pd.DataFrame(
        _component_flips(judge, prompts, before, after) + _instruction_flips(rows, before, after),
        columns=["what", "gained", "lost"],
    )
    changed = [i for i, (a, b) in enumerate(zip(before, after)) if a != b]
    words = [statistics.median(len(a.split()) for a in answers) if answers else 0 for answers in (before, after)]
    sentence = (f"{len(changed)} of {len(rows)} answers changed from {names[0]} to {names[1]}; median length "
                f"{words[0]:g} → {words[1]:g} words.")  # fmt: skip
    example = changed[0] if changed else None
    if hasattr(judge, "task_scores") and changed:
        flips = [i for i, a, b in zip(range(len(rows)), judge.task_scores(prompts, before),
                                        judge.task_scores(prompts, after)) if a != b]  # fmt: skip
        example = flips[0] if flips else example
    return table, sentence, example


CHECKABLE = ("number", "choice", "facts", "phrase")  # reference tasks whose right answer a rule can check


def task_scores(judge, prompts: Sequence[str], answers: Mapping) -> dict[str, list[int]]:
    """Each model's task component per answer (1 right, 0 wrong), scored once; empty for a judge without one."""
    return {n: judge.task_scores(prompts, a) for n, a in answers.items()} if hasattr(judge, "task_scores") else {}


def task_accuracy_apart(rows: Sequence[Mapping], tasks: Mapping, compared) -> pd.DataFrame:
    """Task accuracy of each compared ``(model, baseline)`` apart on the *checkable* prompts (a number, choice,
    facts or phrase reference: blind hand labels agree with the gold reward there) and on the *open* ones (a topic
    reference: the reward counts topic words, which hand labels agree with little), each with McNemar's test.
    ``tasks``: :func:`task_scores`. Empty without a task component (no ``tasks``, rows with no ``reference``)."""
    from .winrate import mcnemar

    if not tasks or not all(r.get("reference") for r in rows):
        return pd.DataFrame()
    out = []
    for kind in ("checkable", "open"):
        keep = [i for i, r in enumerate(rows) if (r["reference"]["task"] in CHECKABLE) == (kind == "checkable")]
        for a, b in compared if keep else []:
            right_a, right_b = [tasks[a][i] for i in keep], [tasks[b][i] for i in keep]
            only_a, only_b, p = mcnemar(right_a, right_b)
            out.append({"model": a, "vs": b, "prompts": kind, "n": len(keep), "accuracy": sum(right_a) / len(keep),
                        "accuracy_vs": sum(right_b) / len(keep), "only_model": only_a, "only_vs": only_b,
                        "mcnemar_p": p})  # fmt: skip
    return pd.DataFrame(out)


def task_accuracy_markdown(table: pd.DataFrame) -> list[str]:
    """The results page's section on :func:`task_accuracy_apart` (nothing when it is empty)."""
    if table.empty:
        return []
    shown = pd.DataFrame({"model": table["model"], "vs": table["vs"], "prompts": table["prompts"], "n": table["n"],
                          "task accuracy": [f"{a:.3f} vs {b:.3f}" for a, b in zip(table["accuracy"],
                                                                                 table["accuracy_vs"])],
                          "only model / only vs right": [f"{a} / {b}" for a, b in zip(table["only_model"],
                                                                                     table["only_vs"])],
                          "McNemar p": table["mcnemar_p"].map("{:.3g}".format)})  # fmt: skip
    return ["## Task accuracy on checkable and open prompts", "",
            "Checkable: prompts whose reference is a number, a choice, key facts or a phrase, where blind hand labels "
            "agree with the gold reward's task rules; open: creative, professional, imitation, procedure and "
            "discussion prompts, where the rule counts topic words and hand labels agree with it little "
            "(`docs/measurements.md`). Read the open rows as \"uses the topic's words\".", "",
            shown.to_markdown(index=False, disable_numparse=True), ""]  # fmt: skip
