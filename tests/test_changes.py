"""What a stage changed in the answers is counted per reward component and instruction, by hand."""

from sfdpo_helpers import changes
from sfdpo_helpers.judges import GoldJudge

REF = {"task": "number", "answer": {"answer": "82"}}
ROWS = [
    {"prompt": f"Q{i}: the average of 84, 97, 66, and 81?", "instruction_id_list": ["punctuation:no_comma"],
     "kwargs": [{}], "reference": REF}
    for i in range(3)
]  # fmt: skip


def test_what_changed_counts_gains_and_losses_per_component_and_instruction():
    judge = GoldJudge(ROWS)
    before = ["The average is 82.", "The average is 80.", "The average is 82."]
    after = ["The average is 82.", "The average is 82.", "Well, it is 80."]  # one gained the task, one lost it
    table, sentence, example = changes.what_changed(judge, ROWS, before, after, ("sft", "dpo"))
    counts = {row.what: (row.gained, row.lost) for row in table.itertuples()}
    assert counts["reward: task"] == (1, 1)
    assert counts["instruction: punctuation:no_comma"] == (0, 1)  # "Well, it" has a comma
    assert counts["reward: instructions"] == (0, 1) and counts["reward: form"] == (0, 0)
    assert sentence.startswith("2 of 3 answers changed from sft to dpo") and example == 1


def test_paired_reads_task_accuracy_from_the_gold_reward():
    judge = GoldJudge(ROWS)
    answers = {"a": ["The average is 82."] * 3, "b": ["The average is 80."] * 3}
    prompts = [r["prompt"] for r in ROWS]
    scores = {n: judge.score(prompts, a) for n, a in answers.items()}
    result = changes.paired(judge, prompts, answers, scores, ("a", "b"))
    assert (result.accuracy_a, result.accuracy_b, result.only_a_right) == (1.0, 0.0, 3)
    assert result.mean == 0.6  # the task component's weight, on every prompt


def test_task_accuracy_apart_splits_checkable_from_open_prompts_with_mcnemar_by_hand():
    topic = {"task": "topic", "words": ["drops", "window", "puddles", "clouds"], "need": 2}
    rows = ROWS + [{"prompt": f"T{i}: write about a rainy day.", "instruction_id_list": ["punctuation:no_comma"],
                    "kwargs": [{}], "reference": topic} for i in range(2)]  # fmt: skip
    answers = {
        "dpo": ["The average is 82.", "The average is 82.", "The average is 80.", "Drops on the window.", "Hm."],
        "sft": ["The average is 80.", "The average is 82.", "The average is 80.", "Hm.", "Hm."],
    }
    tasks = changes.task_scores(GoldJudge(rows), [r["prompt"] for r in rows], answers)
    table = changes.task_accuracy_apart(rows, tasks, [("dpo", "sft")])
    checkable, open_ = (table[table.prompts == kind].iloc[0] for kind in ("checkable", "open"))
    assert (checkable.n, checkable.accuracy, checkable.accuracy_vs) == (3, 2 / 3, 1 / 3)
    assert (checkable.only_model, checkable.only_vs, checkable.mcnemar_p) == (1, 0, 1.0)  # 1 of 1 discordant: p = 1
    assert (open_.n, open_.accuracy, open_.accuracy_vs, open_.only_model) == (2, 0.5, 0.0, 1)
    lines = changes.task_accuracy_markdown(table)
    assert lines[0] == "## Task accuracy on checkable and open prompts" and "0.667 vs 0.333" in "\n".join(lines)
    assert changes.task_scores(object(), [r["prompt"] for r in rows], answers) == {}  # no task component
    assert changes.task_accuracy_markdown(changes.task_accuracy_apart(rows, {}, [("dpo", "sft")])) == []
