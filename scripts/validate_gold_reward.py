"""Validate the gold reward on the demo data before trusting it (docs/measurements.md, "The gold reward").

    python scripts/validate_gold_reward.py            # prints the tables as Markdown

1. Reference answers (every SFT reply and chosen answer, every format transform the generator applies):
   the share with task = 1, per instruction the answer was transformed for.
2. Adversarial answers per reference task: the prompt echoed, every option listed, the right number among
   distractors with no answer stated, a bare list of the key terms, an evasion: the share scoring task = 1
   (must be 0). Baselines: always the first option (choice), the first number of the prompt (number).
3. Each rejected kind of the pairs against its chosen answer: the share where the chosen answer scores higher.

Reads only ``sfdpo_helpers/demo_data`` (sft, pairs); never the eval prompts' answers, never ../shared.
"""

from __future__ import annotations

import collections
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sfdpo_helpers.judges.gold import GoldJudge, numbers, task_score  # noqa: E402

DEMO = ROOT / "sfdpo_helpers" / "demo_data"
EVASION = "That is a great question. The answer depends on many factors and there is no single correct view."


def read(name):
    return [json.loads(line) for line in (DEMO / name).read_text(encoding="utf-8").splitlines()]


def reference_answers():
    rows = [(r["messages"][0]["content"], r["messages"][1]["content"], r) for r in read("sft.jsonl")]
    return rows + [(r["prompt"], r["chosen"][1]["content"], r) for r in read("pairs.jsonl")]


def table(header, rows):
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return "\n".join(lines + ["| " + " | ".join(str(c) for c in row) + " |" for row in rows])


def reference_table(answers):
    per = collections.defaultdict(lambda: [0, 0])
    for prompt, answer, row in answers:
        right = task_score(prompt, answer, row["reference"])[0]
        for key in ["(all)", *(row["instruction_id_list"] or ["(plain request)"])]:
            per[key][0] += right
            per[key][1] += 1
    return table(
        ["transform (instruction)", "answers", "task = 1"],
        [(k, n, f"{r / n:.1%}") for k, (r, n) in sorted(per.items())],
    )


def adversarial(prompt, row):
    """(name, answer) pairs that must score task = 0, for this row's reference task."""
    ref = row["reference"]
    out = [("prompt echoed", prompt), ("evasion", EVASION)]
    if ref["task"] == "choice":
        out.append(
            ("every option listed", "It could be " + ", ".join(ref["options"][:-1]) + " or " + ref["options"][-1] + ".")
        )
    if ref["task"] == "number":
        value = next(iter(ref["answer"].values()))
        if ":" not in value:
            v = int(value)
            out.append(("right number among distractors", f"It is one of {v - 3}, {v}, {v + 7} or {v * 2}."))
    if ref["task"] == "facts":
        out.append(("bare list of key terms", ", ".join(t[0] for t in ref["terms"]) + "."))
        if ref.get("wrong"):
            right = ref["terms"][0][0]
            out.append(("wrong fact beside a right one", f"It is {ref['wrong'][0]}. {right} is also mentioned here."))
    if ref["task"] == "phrase":
        others = [o for o in ref["options"] if o != ref["answer"]][:2]
        out.append(("two candidates", f"It is {ref['answer']} or {others[0]}."))
    return out


def baselines(prompt, row):
    """(name, answer) of trivial strategies per task."""
    ref = row["reference"]
    if ref["task"] == "choice":
        return [("always the first option", f"The answer is {ref['options'][0]}.")]
    if ref["task"] == "number":
        first = (numbers(prompt) or ["0"])[0]
        return [("the prompt's first number", f"The answer is {first}.")]
    return []


def attack_table(answers):
    hits = collections.defaultdict(lambda: [0, 0])
    for prompt, _, row in answers:
        for name, text in adversarial(prompt, row) + baselines(prompt, row):
            key = (row["reference"]["task"], name)
            hits[key][0] += task_score(prompt, text, row["reference"])[0]
            hits[key][1] += 1
    rows = [(task, name, n, f"{h / n:.1%}") for (task, name), (h, n) in sorted(hits.items())]
    return table(["reference task", "answer", "prompts", "task = 1"], rows)


def kinds_table():
    pairs = read("pairs.jsonl")
    judge = GoldJudge(pairs)
    per = collections.defaultdict(lambda: [0, 0])
    for r in pairs:
        c, w = judge.score([r["prompt"]] * 2, [r["chosen"][1]["content"], r["rejected"][1]["content"]])
        per[r["rejected_kind"]][0] += c > w
        per[r["rejected_kind"]][1] += 1
    rows = [(k, n, f"{a / n:.1%}") for k, (a, n) in sorted(per.items())]
    return table(["rejected kind", "pairs", "chosen scores higher"], rows)


def main():
    answers = reference_answers()
    print("### Reference answers, by the format transform they carry\n")
    print(reference_table(answers))
    print("\n### Adversarial answers and baselines (task must be 0)\n")
    print(attack_table(answers))
    print("\n### Rejected kinds against their chosen answer\n")
    print(kinds_table())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
