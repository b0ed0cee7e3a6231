"""Blind labels for the gold reward's task component: how often does it agree with a reader?

    python scripts/gold_labels.py sample --run-dir runs/main --out labels/      # answers to label, blind
    python scripts/gold_labels.py agreement --run-dir runs/main --labels labels/labels.jsonl

``sample`` takes 6 dev prompts of each reference task (number, choice, facts, phrase, topic: 30 prompts, seeded),
every model of a finished run answers them (the run's greedy settings; cached in the run), and adds notebook 07's
*selected* answers (the chosen side of round 1's pairs: selection concentrates a judge's errors). It writes
``to_label.jsonl`` (id, prompt, answer key in words, answer: no score, no model name, shuffled) and keeps the
judge's verdicts apart in ``verdicts.jsonl``. A reader labels each answer ``right`` or ``wrong`` on its task
from ``to_label.jsonl`` alone. ``agreement`` prints per-rule confusion matrices, agreement and Cohen's κ, and
every disagreement. Dev prompts only: the eval prompts and ../shared are never read.
"""

from __future__ import annotations

import argparse
import collections
import json
import random
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

TASKS = ("number", "choice", "facts", "phrase", "topic")


def selected_answers(cfg, paths):
    """Round 1's chosen answers of notebook 07, recomputed from the run's cached samples and the gold reward."""
    from sfdpo_helpers import data, models, pairs, pipeline, stages

    rows = data.read_jsonl(cfg.data_dir / "curriculum_prompts.jsonl")
    model, tokenizer = models.load_model(paths["rsdpo3"]), models.load_tokenizer(paths["rsdpo3"])
    samples = stages.self_improvement_samples(cfg, model, tokenizer, [r["prompt"] for r in rows], 1)
    texts = [[s["response"] for s in eight] for eight in samples]
    judge = pipeline.judge(cfg, rows)
    rewards = stages.score_samples(judge, [r["prompt"] for r in rows], texts)
    chosen, _ = pairs.self_improvement_pairs([r["prompt"] for r in rows], texts, rewards, cfg.seed + 1)
    by_prompt = {r["prompt"]: r for r in rows}
    return [(by_prompt[p["prompt"]], "07 selected", p["chosen"]) for p in chosen]


def sample(run_dir: Path, out: Path, per_task: int = 6, seed: int = 0, exclude: Path | None = None) -> None:
    from sfdpo_helpers import data, pipeline, settings
    from sfdpo_helpers.judges import GoldJudge
    from sfdpo_helpers.judges.gold import reference_in_words

    cfg = settings.load({"profile": "offline", "out_dir": str(run_dir), "figures_dir": str(run_dir / "figures")})
    dev = data.read_jsonl(data.DEMO_DIR / "dev_prompts.jsonl")
    if exclude:  # a second, independent sample: none of the prompts labelled before
        seen = {json.loads(line)["prompt"] for line in exclude.read_text().splitlines()}
        dev = [r for r in dev if r["prompt"] not in seen]
    rng = random.Random(seed)
    by_task = {t: [r for r in dev if r["reference"]["task"] == t] for t in TASKS}  # the dev split has 8 number items
    chosen_rows = [r for t in TASKS for r in rng.sample(by_task[t], min(per_task, len(by_task[t])))]
    paths = {"base": cfg.base_model, **{p.name: str(p) for p in sorted((run_dir / "models").iterdir())}}
    prompts = [r["prompt"] for r in chosen_rows]
    items = [(r, name, a) for name, path in paths.items()
             for r, a in zip(chosen_rows, pipeline.model_answers(cfg, path, prompts))]  # fmt: skip
    if "rsdpo3" in paths and (cfg.data_dir / "curriculum_prompts.jsonl").exists():
        items += selected_answers(cfg, paths)
    rng.shuffle(items)
    judge = GoldJudge([r for r, _, _ in items])
    out.mkdir(parents=True, exist_ok=True)
    with open(out / "to_label.jsonl", "w") as blind, open(out / "verdicts.jsonl", "w") as verdicts:
        for i, (row, source, answer) in enumerate(items):
            key = reference_in_words(row["reference"])
            blind.write(json.dumps({"id": i, "prompt": row["prompt"], "answer_key": key, "answer": answer},
                                   ensure_ascii=False) + "\n")  # fmt: skip
            b = judge.breakdown(row["prompt"], answer)
            verdicts.write(json.dumps({"id": i, "source": source, "rule": row["reference"]["task"], "task": b.task,
                                       "read": b.task_note}, ensure_ascii=False) + "\n")  # fmt: skip
    print(f"{len(items)} answers to label in {out / 'to_label.jsonl'}; verdicts kept apart in {out / 'verdicts.jsonl'}")


def rescore(out: Path, verdicts_path: Path, new_path: Path) -> None:
    """The current gold reward's verdicts of the labelled answers (``to_label.jsonl``; references looked up in the
    demo dev prompts and reserve pool by prompt), written to ``new_path``: how a later rule version reads them."""
    from sfdpo_helpers import data
    from sfdpo_helpers.judges.gold import GOLD_VERSION, task_score

    rows = {r["prompt"]: r for name in ("dev_prompts.jsonl", "prompt_pool.jsonl")
            for r in data.read_jsonl(data.DEMO_DIR / name)}  # fmt: skip
    old = {v["id"]: v for v in map(json.loads, verdicts_path.read_text().splitlines())}
    with open(new_path, "w") as f:
        for item in map(json.loads, (out / "to_label.jsonl").read_text().splitlines()):
            task, note = task_score(item["prompt"], item["answer"], rows[item["prompt"]]["reference"])
            f.write(json.dumps({**old[item["id"]], "task": task, "read": note, "version": GOLD_VERSION}) + "\n")
    print(f"{GOLD_VERSION} verdicts of {len(old)} labelled answers: {new_path}")


def agreement(out: Path, labels_path: Path, verdicts_path: Path | None = None) -> None:
    from sfdpo_helpers.judges import cohen_kappa

    verdicts_path = verdicts_path or out / "verdicts.jsonl"
    verdicts = {v["id"]: v for v in map(json.loads, verdicts_path.read_text().splitlines())}
    labels = {x["id"]: x for x in map(json.loads, labels_path.read_text().splitlines())}
    blind = {x["id"]: x for x in map(json.loads, (out / "to_label.jsonl").read_text().splitlines())}
    groups = collections.defaultdict(list)
    for i, v in verdicts.items():
        label = int(labels[i]["label"] == "right")
        checkable = ["checkable (all but topic)"] if v["rule"] != "topic" else []
        for key in ("all", *checkable, v["rule"], *(["07 selected"] if v["source"] == "07 selected" else [])):
            groups[key].append((v["task"], label, i))
    print("| rule | n | judge right & reader right | judge right & reader wrong | judge wrong & reader right | "
          "both wrong | agreement | Cohen's κ |\n|---|---|---|---|---|---|---|---|")  # fmt: skip
    for key in ("all", "checkable (all but topic)", *TASKS, "07 selected"):
        g = groups.get(key, [])
        if g:
            c = collections.Counter((j, r) for j, r, _ in g)
            judge_says, reader_says = [j for j, _, _ in g], [r for _, r, _ in g]
            agree = sum(j == r for j, r in zip(judge_says, reader_says)) / len(g)
            print(f"| {key} | {len(g)} | {c[1, 1]} | {c[1, 0]} | {c[0, 1]} | {c[0, 0]} | "
                  f"{agree:.3f} | {cohen_kappa(judge_says, reader_says):.3f} |")  # fmt: skip
    print("\nDisagreements:")
    for j, r, i in groups["all"]:
        if j != r:
            print(f"- id {i} ({verdicts[i]['rule']}, {verdicts[i]['source']}): judge {'right' if j else 'wrong'} "
                  f"({verdicts[i]['read']}), reader {'right' if r else 'wrong'} ({labels[i].get('why', '')}); "
                  f"answer: {blind[i]['answer'][:160]!r}")  # fmt: skip


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("command", choices=("sample", "agreement", "rescore"))
    ap.add_argument("--run-dir", default="runs/main", type=Path)
    ap.add_argument("--out", default="runs/main/labels", type=Path)
    ap.add_argument("--labels", type=Path, help="the reader's labels: id, label (right | wrong), why")
    ap.add_argument("--seed", type=int, default=0, help="which dev prompts are drawn")
    ap.add_argument("--verdicts", type=Path, help="the judge's verdicts (default: OUT/verdicts.jsonl)")
    ap.add_argument("--rescored", type=Path, help="rescore: where the current rules' verdicts go")
    ap.add_argument("--exclude", type=Path, help="a to_label.jsonl whose prompts are left out (a fresh sample)")
    args = ap.parse_args(argv)
    if args.command == "sample":
        sample(args.run_dir, args.out, seed=args.seed, exclude=args.exclude)
    elif args.command == "rescore":
        rescore(args.out, args.verdicts or args.out / "verdicts.jsonl", args.rescored)
    else:
        agreement(args.out, args.labels, args.verdicts)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
