"""The splits and their files: building each split's examples and the reserve pool, turning them into
rows, the self-checks, writing the five files and the data card (``main``), and the optional
cross-checks against IFEval's prompts and ``sfdpo_helpers.judges``."""

from __future__ import annotations

import collections
import hashlib
import json
import random
import re
import sys
from pathlib import Path

from .answers import FORMAT_CAP, N_IDS_WEIGHTS, build_example
from .banks import (
    DISCUSSIONS,
    GENERAL_KNOWLEDGE,
    PROCEDURES,
    RESERVE_DISCUSSIONS,
    RESERVE_GENERAL_KNOWLEDGE,
    RESERVE_PROCEDURES,
    RESERVE_SCIENCE,
    RESERVE_STORIES,
    SCIENCE,
    STORIES,
)
from .card import data_card
from .config import CATEGORIES, DEV_FIRST_KEY, IFEVAL_DEV, OUT_DIR, PER_CATEGORY, REPO, SEED, SPLIT_SEED
from .instructions import ALL_IDS, QUOTE, SPLIT_IDS, UNASKED_QUOTE, fails_some, passes_all
from .items import POOL_FIRST_KEY, POOL_PER_CATEGORY, build_pools, build_reserve_pools
from .references import gold_task
from .rejected import WRONG_ANSWER, build_rejected, score_pair, unasked_quote

# ======================================================================================
# Splits and files
# ======================================================================================


def make_split(split, pools, used_prompts):
    examples = []
    for cat in CATEGORIES:
        rng = random.Random(f"{SEED}-{SPLIT_SEED.get(split, split)}-{cat}")
        pool = pools[cat]["eval" if split in ("dev", "eval") else "train"]
        order = list(pool)
        rng.shuffle(order)
        need, i, misses = PER_CATEGORY[split], 0, 0
        got = []
        balance = None
        if split == "sft":
            caps = {i: int(FORMAT_CAP * need) for i in ALL_IDS}
            balance = (N_IDS_WEIGHTS["sft"], collections.Counter(), caps)
        while len(got) < need:
            item = order[i % len(order)]
            i += 1
            ex = build_example(item, rng, used_prompts, *SPLIT_IDS.get(split, (None, None)), balance)
            if ex is not None and split == "pairs":
                ex.rejected, ex.failure = build_rejected(ex, pool, rng)
                ex.rejected, ex.failure = unasked_quote(ex) or (ex.rejected, ex.failure)
                if ex.rejected is None:
                    ex = None
                else:
                    ex.score_chosen, ex.score_rejected = score_pair(ex, rng)
            if ex is None:
                misses += 1
                if misses > 20 * need:
                    raise RuntimeError(f"cannot build {need} {split} examples for {cat}")
                continue
            used_prompts.add(ex.prompt)
            got.append(ex)
        examples.extend(got)
    return examples


def normalise(text: str) -> str:
    """Lowercase, whitespace collapsed: the comparison the curriculum notebook de-duplicates with."""
    return " ".join(text.lower().split())


def make_pool(reserve, used_prompts):
    """``POOL_PER_CATEGORY`` prompts per category from the reserve items, none equal (after
    ``normalise``) to a prompt in ``used_prompts`` or to another pool prompt. Runs after the other
    splits with its own seeds, so adding it changes none of their bytes."""
    seen = {normalise(p) for p in used_prompts}
    examples = []
    for cat in CATEGORIES:
        rng = random.Random(f"{SEED}-pool-{cat}")
        order = list(reserve[cat])
        rng.shuffle(order)
        got, i, misses = [], 0, 0
        while len(got) < POOL_PER_CATEGORY:
            item = order[i % len(order)]
            i += 1
            ex = build_example(item, rng, used_prompts)
            if ex is None or normalise(ex.prompt) in seen:
                misses += 1
                if misses > 20 * POOL_PER_CATEGORY:
                    raise RuntimeError(f"cannot build {POOL_PER_CATEGORY} pool prompts for {cat}")
                continue
            seen.add(normalise(ex.prompt))
            used_prompts.add(ex.prompt)
            got.append(ex)
        examples.extend(got)
    return examples


def _msgs(prompt, response):
    return [{"role": "user", "content": prompt}, {"role": "assistant", "content": response}]


def rejected_kind(failure: str) -> str:
    """The ``rejected_kind`` column: "instruction broken" for every broken instruction, else the kind itself."""
    return "instruction broken" if failure.startswith("broke:") else failure.replace("_", "-")


def to_rows(split, examples):
    rows = []
    for k, ex in enumerate(examples):
        meta = {"category": ex.item.category, "instruction_id_list": ex.ids, "kwargs": ex.kwargs,
                "reference": ex.item.reference}  # fmt: skip
        if split == "sft":
            rows.append({"messages": _msgs(ex.prompt, ex.chosen), "source": "sfdpo-demo", **meta})
        elif split == "pairs":
            rows.append(
                {
                    "prompt": ex.prompt,
                    "prompt_id": hashlib.sha256(ex.prompt.encode()).hexdigest(),
                    "chosen": _msgs(ex.prompt, ex.chosen),
                    "rejected": _msgs(ex.prompt, ex.rejected),
                    "score_chosen": ex.score_chosen,
                    "score_rejected": ex.score_rejected,
                    "rejected_kind": rejected_kind(ex.failure),
                    **meta,
                }
            )
        elif split == "pool":
            rows.append({"key": POOL_FIRST_KEY + k, "prompt": ex.prompt, **meta})
        elif split == "dev":
            rows.append({"key": DEV_FIRST_KEY + k, "prompt": ex.prompt, **meta})
        else:
            rows.append({"key": k + 1, "prompt": ex.prompt, **meta})
    return rows


def _write_jsonl(rows, path):
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        for row in rows:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")


def self_check(splits, examples):
    """Raise if a split breaks the data's promises (the tests check the same with the judge)."""
    seen = {}
    for split, rows in splits.items():
        for row in rows:
            prompt = row["prompt"] if "prompt" in row else row["messages"][0]["content"]
            if prompt in seen:
                raise AssertionError(f"prompt in {seen[prompt]} and {split}: {prompt[:80]!r}")
            seen[prompt] = split
    # The pool is compared case- and whitespace-blind, as the curriculum notebook de-duplicates (the
    # older splits are only exact-distinct: a few prompts differ from another by a newline).
    others = {normalise(p) for p, split in seen.items() if split != "pool"}
    pool = [normalise(row["prompt"]) for row in splits["pool"]]
    assert len(set(pool)) == len(pool) and not set(pool) & others, "pool prompt repeats a prompt"
    pool_keys = [row["key"] for row in splits["pool"]]
    held_out_keys = {row["key"] for split in ("dev", "eval") for row in splits[split]}
    assert len(set(pool_keys)) == len(pool_keys) and not set(pool_keys) & held_out_keys
    assert set(collections.Counter(row["category"] for row in splits["pool"]).values()) == {POOL_PER_CATEGORY}
    for ex in examples["sft"] + examples["pairs"] + examples["pool"]:
        assert passes_all(ex.ids, ex.kwargs, ex.chosen), ex.prompt
    wrong = [ex for split in examples.values() for ex in split if gold_task(ex.prompt, ex.chosen, ex.item) != 1]
    assert not wrong, f"{len(wrong)} reference answers are not right under the gold reward, e.g. {wrong[0]!r}"
    for ex in examples["pairs"]:
        if ex.failure == UNASKED_QUOTE:
            assert QUOTE not in ex.ids and ex.rejected == f'"{ex.chosen}"', ex.prompt
        elif ex.failure == WRONG_ANSWER:
            assert passes_all(ex.ids, ex.kwargs, ex.rejected) and gold_task(ex.prompt, ex.rejected, ex.item) == 0
        else:
            assert fails_some(ex.ids, ex.kwargs, ex.rejected), ex.prompt
        assert ex.score_chosen > ex.score_rejected
    for bank in (
        GENERAL_KNOWLEDGE,
        SCIENCE,
        STORIES,
        PROCEDURES,
        DISCUSSIONS,
        RESERVE_GENERAL_KNOWLEDGE,
        RESERVE_SCIENCE,
        RESERVE_STORIES,
        RESERVE_PROCEDURES,
        RESERVE_DISCUSSIONS,
    ):
        for title, _, pts, *_ in bank:
            for p in pts:
                if "," in p and not re.search(r", (and|or) ", p):
                    raise AssertionError(f"{title}: comma outside a list in {p!r}")


def _plain_words(text):
    return re.findall(r"[a-z0-9']+", text.lower())


def ifeval_overlap(texts, ifeval_path=IFEVAL_DEV, n=8):
    """Demo texts that share an exact prompt or an ``n``-word shingle with IFEval's prompts."""
    if not Path(ifeval_path).exists():
        return None
    shingles, exact = set(), set()
    for line in Path(ifeval_path).read_text(encoding="utf-8").splitlines():
        words = _plain_words(json.loads(line)["prompt"])
        exact.add(" ".join(words))
        shingles.update(tuple(words[i : i + n]) for i in range(len(words) - n + 1))
    bad = []
    for t in texts:
        words = _plain_words(t)
        if " ".join(words) in exact or any(tuple(words[i : i + n]) in shingles for i in range(len(words) - n + 1)):
            bad.append(t)
    return bad


FILES = {
    "sft": "sft.jsonl",
    "pairs": "pairs.jsonl",
    "dev": "dev_prompts.jsonl",
    "eval": "eval_prompts.jsonl",
    "pool": "prompt_pool.jsonl",
}


def main(out_dir: Path | str = OUT_DIR) -> dict:
    """Write sft.jsonl, pairs.jsonl, eval_prompts.jsonl, prompt_pool.jsonl and DATA_CARD.md into ``out_dir``."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    pools = build_pools()
    used: set = set()
    examples = {}
    for split in ("dev", "pairs", "sft", "eval"):  # dev first: it is the held-out split these seeds first made
        examples[split] = make_split(split, pools, used)
    examples["pool"] = make_pool(build_reserve_pools(pools), used)  # last, own seeds: the others stay as they were
    splits = {s: to_rows(s, examples[s]) for s in ("sft", "pairs", "dev", "eval", "pool")}
    self_check(splits, examples)
    files = FILES
    for split, name in files.items():
        _write_jsonl(splits[split], out_dir / name)
    (out_dir / "DATA_CARD.md").write_text(data_card(splits, examples, out_dir), encoding="utf-8", newline="\n")
    return {split: len(rows) for split, rows in splits.items()}


KINDS_THAT_FOLLOW_ALL = (WRONG_ANSWER, UNASKED_QUOTE)  # rejected kinds that break no instruction by design


def cross_check_with_judge(out_dir: Path) -> str:
    """Check the written files with ``sfdpo_helpers.judges`` (the tests do the same): a chosen or
    SFT response that fails an instruction, a rejected one that follows them all (unless its kind keeps them:
    a wrong answer, an unasked quotation), or a pair whose chosen answer does not outscore its rejected one
    under the gold reward, disagrees."""
    sys.path.insert(0, str(REPO))
    from sfdpo_helpers.judges import GoldJudge, VerifiableJudge, check_instruction

    def read(name):
        return [json.loads(line) for line in (out_dir / name).read_text(encoding="utf-8").splitlines()]

    def follows_all(row, prompt, response):
        return all(check_instruction(i, k, prompt, response) for i, k in zip(row["instruction_id_list"], row["kwargs"]))

    bad = 0
    for row in read("sft.jsonl"):
        bad += not follows_all(row, row["messages"][0]["content"], row["messages"][1]["content"])
    pairs = read("pairs.jsonl")
    gold = GoldJudge(pairs)
    for row in pairs:
        chosen, rejected = row["chosen"][1]["content"], row["rejected"][1]["content"]
        bad += not follows_all(row, row["prompt"], chosen)
        bad += row["rejected_kind"] not in KINDS_THAT_FOLLOW_ALL and follows_all(row, row["prompt"], rejected)
        bad += gold.score([row["prompt"]], [chosen]) <= gold.score([row["prompt"]], [rejected])
    VerifiableJudge(read("prompt_pool.jsonl"))  # raises on an unknown id or kwarg
    return f"judge cross-check: {bad} disagreements; prompt pool builds in the judge"
