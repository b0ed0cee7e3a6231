"""The shipped demo data keeps its promises: hub column formats, ten categories, verifiable
instructions that chosen answers follow and rejected answers break, a reserve prompt pool kept
apart from every other split, no IFEval text, and a generator that rebuilds the files byte for
byte."""

import hashlib
import importlib.util
import json
import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "sfdpo_helpers" / "demo_data"
GENERATOR = ROOT / "scripts" / "make_demo_data.py"
SHARED_IFEVAL = ROOT.parent / "shared" / "data" / "ifeval" / "ifeval_dev.jsonl"
FILES = ["sft.jsonl", "pairs.jsonl", "dev_prompts.jsonl", "eval_prompts.jsonl", "prompt_pool.jsonl", "DATA_CARD.md"]

CATEGORIES = {
    "math_reasoning",
    "general_knowledge",
    "science_explanation",
    "creative_writing",
    "professional_writing",
    "instructions_procedures",
    "multilingual",
    "open_discussion",
    "imitation_writing",
    "classification",
}
META = {"category", "instruction_id_list", "kwargs", "reference"}
REJECTED_KINDS = {"instruction broken", "wrong answer", "repetition loop", "rambling", "off-topic", "evasive",
                  "unasked quotation"}  # fmt: skip


def read(name):
    return [json.loads(line) for line in (DEMO / name).read_text(encoding="utf-8").splitlines()]


@pytest.fixture(scope="module")
def sft():
    return read("sft.jsonl")


@pytest.fixture(scope="module")
def pairs():
    return read("pairs.jsonl")


@pytest.fixture(scope="module")
def eval_rows():
    return read("eval_prompts.jsonl")


@pytest.fixture(scope="module")
def pool():
    return read("prompt_pool.jsonl")


def sft_prompt(row):
    return row["messages"][0]["content"]


def check_meta(row, fewest=1):
    assert row["category"] in CATEGORIES
    ids, kwargs = row["instruction_id_list"], row["kwargs"]
    assert fewest <= len(ids) <= 3 and len(ids) == len(set(ids)) == len(kwargs)
    assert all(isinstance(i, str) for i in ids) and all(isinstance(k, dict) for k in kwargs)


def check_conversation(messages, prompt=None):
    assert [m["role"] for m in messages] == ["user", "assistant"]
    assert all(
        set(m) == {"role", "content"} and isinstance(m["content"], str) and m["content"].strip() for m in messages
    )
    if prompt is not None:
        assert messages[0]["content"] == prompt


# --- schema and counts -------------------------------------------------------------------


def test_files_exist_and_fit_in_5_mb():
    assert all((DEMO / f).is_file() for f in FILES)
    total = sum(p.stat().st_size for p in DEMO.rglob("*") if p.is_file())
    assert total <= 5 * 1024 * 1024, f"demo_data is {total / 2**20:.1f} MiB"


def test_sft_rows_have_smoltalk_columns(sft):
    assert 900 <= len(sft) <= 1100
    for row in sft:
        assert set(row) == {"messages", "source"} | META
        assert row["source"] == "sfdpo-demo"
        check_conversation(row["messages"])
        check_meta(row, fewest=0)  # a plain request has no instruction


def test_pairs_rows_have_ultrafeedback_columns(pairs):
    assert 900 <= len(pairs) <= 1100
    for row in pairs:
        assert set(row) == {"prompt", "prompt_id", "chosen", "rejected", "score_chosen", "score_rejected",
                            "rejected_kind"} | META  # fmt: skip
        assert row["rejected_kind"] in REJECTED_KINDS
        assert row["prompt_id"] == hashlib.sha256(row["prompt"].encode()).hexdigest()
        check_conversation(row["chosen"], row["prompt"])
        check_conversation(row["rejected"], row["prompt"])
        assert row["chosen"][1]["content"] != row["rejected"][1]["content"]
        assert isinstance(row["score_chosen"], float) and isinstance(row["score_rejected"], float)
        assert 1.0 <= row["score_rejected"] < row["score_chosen"] <= 10.0
        check_meta(row)


def test_dev_prompts_for_tuning_are_apart_from_the_reported_eval_prompts(eval_rows):
    """Tuning happens on dev_prompts.jsonl; eval_prompts.jsonl (what every result reports on) shares no prompt
    with it, nor with training, and its keys differ."""
    dev = read("dev_prompts.jsonl")
    assert len(dev) == len(eval_rows) == 250
    assert not {r["prompt"] for r in dev} & {r["prompt"] for r in eval_rows}
    assert {r["key"] for r in dev} == set(range(1001, 1251)) and not {r["key"] for r in dev} & {
        r["key"] for r in eval_rows
    }
    assert {r["category"] for r in dev} == {r["category"] for r in eval_rows}


def test_eval_prompts_are_keyed_ifeval_rows(eval_rows):
    assert 200 <= len(eval_rows) <= 300
    for row in eval_rows:
        assert set(row) == {"key", "prompt"} | META
        assert isinstance(row["key"], int) and isinstance(row["prompt"], str)
        check_meta(row)
    assert len({r["key"] for r in eval_rows}) == len(eval_rows)


def test_prompt_pool_rows_are_keyed_ifeval_rows_30_to_40_per_category(pool, eval_rows):
    for row in pool:
        assert set(row) == {"key", "prompt"} | META
        assert isinstance(row["key"], int) and isinstance(row["prompt"], str) and row["prompt"].strip()
        check_meta(row)
    keys = [r["key"] for r in pool]
    assert len(set(keys)) == len(keys) and min(keys) >= 10001
    assert not set(keys) & {r["key"] for r in eval_rows}
    counts = {c: sum(r["category"] == c for r in pool) for c in CATEGORIES}
    assert all(30 <= n <= 40 for n in counts.values()), counts
    assert {r["category"] for r in pool} == CATEGORIES


def test_every_split_covers_the_ten_categories(sft, pairs, eval_rows, pool):
    for rows in (sft, pairs, eval_rows, pool):
        assert {r["category"] for r in rows} == CATEGORIES


def test_at_least_15_instruction_types_all_known_to_ifeval(sft, pairs, eval_rows, pool):
    from sfdpo_helpers.judges import supported_instructions

    used = {i for rows in (sft, pairs, eval_rows, pool) for r in rows for i in r["instruction_id_list"]}
    assert len(used) >= 15, sorted(used)
    assert used <= set(supported_instructions())


def test_sft_and_pairs_teach_different_instructions_and_evaluation_mixes_them(sft, pairs, eval_rows, pool):
    """The division of labour of the demo world: SFT shows the format instructions only; every pair's prompt has
    a constraint instruction (never in SFT) and a rejected answer that breaks a constraint when it breaks one;
    evaluation and pool mix all (so each stage's effect can be seen)."""
    kinds = {
        name: {i for r in rows for i in r["instruction_id_list"]}
        for name, rows in {"sft": sft, "pairs": pairs, "eval": eval_rows, "pool": pool}.items()
    }
    constraints = kinds["pairs"] - kinds["sft"]
    assert len(kinds["sft"]) >= 7 and len(constraints) >= 9
    assert all(
        i.startswith(
            (
                "detectable_format",
                "startend:quotation",
                "detectable_content:number_placeholders",
                "length_constraints:number_paragraphs",
            )
        )
        for i in kinds["sft"]
    )
    assert all(set(r["instruction_id_list"]) & constraints for r in pairs)
    assert kinds["eval"] == kinds["pool"] == kinds["sft"] | kinds["pairs"]


def test_splits_are_disjoint_and_have_no_duplicates(sft, pairs, eval_rows):
    prompts = {
        "sft": [sft_prompt(r) for r in sft],
        "pairs": [r["prompt"] for r in pairs],
        "eval": [r["prompt"] for r in eval_rows],
    }
    for name, texts in prompts.items():
        assert len(set(texts)) == len(texts), f"duplicate prompt in {name}"
    assert not set(prompts["sft"]) & set(prompts["pairs"])
    assert not set(prompts["sft"]) & set(prompts["eval"])
    assert not set(prompts["pairs"]) & set(prompts["eval"])


def normalise(text):
    return " ".join(text.lower().split())  # as sfdpo_helpers.curriculum de-duplicates


def test_pool_is_disjoint_from_every_split_ignoring_case_and_whitespace(sft, pairs, eval_rows, pool):
    pool_texts = [normalise(r["prompt"]) for r in pool]
    assert len(set(pool_texts)) == len(pool_texts), "duplicate prompt in the pool"
    others = {
        normalise(p)
        for p in [sft_prompt(r) for r in sft] + [r["prompt"] for r in pairs] + [r["prompt"] for r in eval_rows]
    }
    shared = [p for p in pool_texts if p in others]
    assert not shared, shared[:3]


def test_pool_prompts_come_from_topics_held_out_from_every_split(pool):
    gen = load_generator()
    pools = gen.build_pools()
    reserve = gen.build_reserve_pools(pools)
    taken = [it for c in pools for part in pools[c].values() for it in part]
    taken_tasks = {t for it in taken for t in it.tasks}
    reserve_tasks = {c: {t for it in reserve[c] for t in it.tasks} for c in reserve}
    assert not {t for ts in reserve_tasks.values() for t in ts} & taken_tasks
    assert not {it.uid for c in reserve for it in reserve[c]} & {it.uid for it in taken}
    # every pool prompt is a reserve task of its own category followed by its instructions
    orphans = [
        r["prompt"]
        for r in pool
        if not any(
            r["prompt"] == t or r["prompt"].startswith((t + " ", t + "\n")) for t in reserve_tasks[r["category"]]
        )
    ]
    assert not orphans, orphans[:3]


def test_eval_prompts_come_from_held_out_topics(sft, pairs):
    gen = load_generator()
    pools = gen.build_pools()
    held_out = {t for c in pools for item in pools[c]["eval"] for t in item.tasks}
    train = [sft_prompt(r) for r in sft] + [r["prompt"] for r in pairs]
    leaks = [p for p in train if p.split("\n")[0] in held_out or any(p.startswith(t + " ") for t in held_out)]
    assert not leaks, leaks[:3]


# --- instructions: chosen follow all, rejected break one ----------------------------------


def judge_scores(rows, prompts, responses):
    from sfdpo_helpers.judges import VerifiableJudge

    judge = VerifiableJudge(
        [
            {"prompt": p, "instruction_id_list": r["instruction_id_list"], "kwargs": r["kwargs"]}
            for p, r in zip(prompts, rows)
        ]
    )
    return judge.score(prompts, responses)


def judge_verdicts(rows, instruction_id):
    """Whether each row's rejected answer follows ``instruction_id`` (IFEval's strict checker)."""
    from sfdpo_helpers.judges import check_instruction

    return [
        check_instruction(
            instruction_id,
            r["kwargs"][r["instruction_id_list"].index(instruction_id)],
            r["prompt"],
            r["rejected"][1]["content"],
        )
        for r in rows
    ]


def describe(rows, indices, responses):
    return [(rows[i]["instruction_id_list"], rows[i]["kwargs"], responses[i][:300]) for i in indices[:3]]


# --- no format is a habit ------------------------------------------------------------------

FORMAT_CAP = 0.10  # the most one instruction may appear in, as a share of SFT replies (and per category)
POSTSCRIPT = "detectable_content:postscript"
QUOTE = "startend:quotation"


def shows_postscript(answer):
    return re.search(r"^\s*P\.S\.", answer, flags=re.MULTILINE) is not None


def test_no_instruction_in_more_than_a_tenth_of_sft_replies_and_about_half_are_plain(sft):
    from collections import Counter

    per_category = Counter((r["category"], i) for r in sft for i in r["instruction_id_list"])
    rows_per_category = Counter(r["category"] for r in sft)
    over = {k: n for k, n in per_category.items() if n > FORMAT_CAP * rows_per_category[k[0]]}
    assert not over, over
    overall = Counter(i for r in sft for i in r["instruction_id_list"])
    assert max(overall.values()) <= FORMAT_CAP * len(sft), overall.most_common(3)
    plain = sum(not r["instruction_id_list"] for r in sft)
    assert 0.3 <= plain / len(sft) <= 0.6, plain


def test_no_shown_format_in_more_than_a_tenth_of_sft_replies(sft):
    """Read from the replies themselves (quotes, JSON, lowercase, P.S.), not from the instruction lists."""
    from sfdpo_helpers.formats import answer_formats

    replies = [r["messages"][1]["content"] for r in sft]
    shown = [answer_formats(a) | ({"postscript"} if shows_postscript(a) else set()) for a in replies]
    for name in ("quoted", "json", "lowercase", "postscript"):
        share = sum(name in s for s in shown) / len(replies)
        assert share <= FORMAT_CAP, (name, share)


def test_no_sft_or_chosen_reply_shows_a_format_its_prompt_did_not_ask_for(sft, pairs):
    from sfdpo_helpers.formats import unrequested_formats

    replies = [(r, r["messages"][1]["content"]) for r in sft] + [(r, r["chosen"][1]["content"]) for r in pairs]
    bad = []
    for i, (row, answer) in enumerate(replies):
        unasked = unrequested_formats(row, answer, i)
        if shows_postscript(answer) and POSTSCRIPT not in row["instruction_id_list"]:
            unasked.add("postscript")
        if unasked:
            bad.append((i, sorted(unasked), answer[:80]))
    assert not bad, bad[:3]


def test_the_format_checks_can_fail():
    from sfdpo_helpers.formats import unrequested_formats

    row = {"instruction_id_list": ["keywords:existence"], "kwargs": [{"keywords": ["sun"]}]}
    assert unrequested_formats(row, '"The sun is a star."') == {"quoted"}
    assert shows_postscript("The sun is a star.\n\nP.S. It is close.")
    assert not shows_postscript("The sun is a star.")


def test_sft_responses_follow_all_their_instructions(sft):
    sft = [r for r in sft if r["instruction_id_list"]]  # a plain request has nothing to follow
    prompts = [sft_prompt(r) for r in sft]
    responses = [r["messages"][1]["content"] for r in sft]
    scores = judge_scores(sft, prompts, responses)
    bad = [i for i, s in enumerate(scores) if s != 1.0]
    assert not bad, describe(sft, bad, responses)


def test_chosen_follow_all_and_rejected_break_at_least_one(pairs):
    prompts = [r["prompt"] for r in pairs]
    chosen = [r["chosen"][1]["content"] for r in pairs]
    rejected = [r["rejected"][1]["content"] for r in pairs]
    chosen_scores = judge_scores(pairs, prompts, chosen)
    rejected_scores = judge_scores(pairs, prompts, rejected)
    bad_chosen = [i for i, s in enumerate(chosen_scores) if s != 1.0]
    # a rejected answer that follows every instruction must be an "unasked quotation" (the chosen answer in
    # quotes) or a "wrong answer" (tested below: wrong under the gold reward)
    bad_rejected = [
        i for i, s in enumerate(rejected_scores)
        if s == 1.0 and not is_unasked_quote(pairs[i]) and pairs[i]["rejected_kind"] != "wrong answer"
    ]  # fmt: skip
    assert not bad_chosen, describe(pairs, bad_chosen, chosen)
    assert not bad_rejected, describe(pairs, bad_rejected, rejected)


def is_unasked_quote(row):
    from sfdpo_helpers.formats import unrequested_formats

    chosen, rejected = row["chosen"][1]["content"], row["rejected"][1]["content"]
    return rejected == f'"{chosen}"' and unrequested_formats(row, rejected) == {"quoted"}


def test_about_a_tenth_of_the_pairs_reject_an_unasked_quote_and_the_quote_alone_never_decides(pairs):
    """DPO must see that a quote nobody asked for is worse, and must not learn "open with a quote" from pairs
    whose rejected answer dropped the asked-for quote along with everything else."""
    from sfdpo_helpers.formats import is_quoted

    unasked = [r for r in pairs if is_unasked_quote(r)]
    not_asking = [r for r in pairs if QUOTE not in r["instruction_id_list"]]
    assert 0.05 <= len(unasked) / len(not_asking) <= 0.15, (len(unasked), len(not_asking))
    assert all(r["score_rejected"] < r["score_chosen"] for r in unasked)
    asking = [r for r in pairs if QUOTE in r["instruction_id_list"]]
    quote_decides = [r for r in asking if not is_quoted(r["rejected"][1]["content"])]
    # only a rejected answer that breaks the quotation instruction itself may open without a quote
    broke_quote = judge_verdicts(quote_decides, QUOTE)
    assert all(v is False for v in broke_quote), [r["prompt"][:60] for r, v in zip(quote_decides, broke_quote) if v]
    chosen_quoted = sum(is_quoted(r["chosen"][1]["content"]) for r in pairs) / len(pairs)
    rejected_quoted = sum(is_quoted(r["rejected"][1]["content"]) for r in pairs) / len(pairs)
    assert rejected_quoted >= chosen_quoted, (chosen_quoted, rejected_quoted)


def test_no_sft_reply_asks_for_or_opens_with_a_quote(sft):
    """A quote fits in front of any answer, so the SFT model imitates it without reading the instruction: 8 quoted
    replies in the 160 the demo trains on made 21% of its answers to unasked dev prompts open with one (0: 4.5%)."""
    from sfdpo_helpers.formats import is_quoted

    quoted = [r["messages"][0]["content"][:60] for r in sft if is_quoted(r["messages"][1]["content"])]
    asking = [r["messages"][0]["content"][:60] for r in sft if QUOTE in r["instruction_id_list"]]
    assert not quoted and not asking, (quoted, asking)


def test_eval_kwargs_are_valid_ifeval_kwargs(eval_rows):
    from sfdpo_helpers.judges import VerifiableJudge

    VerifiableJudge(eval_rows)  # builds every checker; wrong ids or kwarg names raise


def test_pool_kwargs_are_valid_ifeval_kwargs(pool):
    from sfdpo_helpers.judges import VerifiableJudge

    VerifiableJudge(pool)


def test_most_answers_are_short(sft):
    words = [len(r["messages"][1]["content"].split()) for r in sft]
    assert sum(30 <= w <= 120 for w in words) / len(words) >= 0.75
    assert max(words) <= 250


# --- no IFEval text ----------------------------------------------------------------------


def _words(text):
    return re.findall(r"[a-z0-9']+", text.lower())


def test_no_prompt_overlaps_ifeval(sft, pairs, eval_rows, pool):
    if not SHARED_IFEVAL.exists():
        pytest.skip(f"IFEval prompts not found at {SHARED_IFEVAL} (the shared data folder is absent)")
    ifeval = [json.loads(line)["prompt"] for line in SHARED_IFEVAL.read_text(encoding="utf-8").splitlines()]
    exact = set(ifeval)
    normalised = {" ".join(_words(p)) for p in ifeval}
    shingles = {tuple(w[i : i + 8]) for p in ifeval for w in [_words(p)] for i in range(len(w) - 7)}
    texts = (
        [sft_prompt(r) for r in sft]
        + [r["prompt"] for r in pairs]
        + [r["prompt"] for r in eval_rows]
        + [r["prompt"] for r in pool]
        + [r["messages"][1]["content"] for r in sft]
        + [r["rejected"][1]["content"] for r in pairs]
    )
    assert not [t for t in texts if t in exact]
    assert not [t for t in texts if " ".join(_words(t)) in normalised]
    near = [t for t in texts for w in [_words(t)] if any(tuple(w[i : i + 8]) in shingles for i in range(len(w) - 7))]
    assert not near, near[:3]
    joined = "\n".join(texts)
    assert not [p for p in ifeval if len(p) > 40 and p in joined]


# --- the generator -----------------------------------------------------------------------


def load_generator():
    spec = importlib.util.spec_from_file_location("make_demo_data", GENERATOR)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the class is built
    try:
        spec.loader.exec_module(module)
    finally:
        del sys.modules[spec.name]
    return module


def test_generator_rebuilds_the_committed_files_byte_for_byte(tmp_path):
    load_generator().main(tmp_path)
    for name in FILES:
        assert (tmp_path / name).read_bytes() == (DEMO / name).read_bytes(), f"{name} differs; rerun the script"


# --- the gold reward's world ---------------------------------------------------------------


@pytest.fixture(scope="module")
def gold_judge(pairs):
    from sfdpo_helpers.judges import GoldJudge

    return GoldJudge(pairs)


def test_every_row_of_every_file_carries_a_reference_the_gold_reward_accepts(sft, pairs, eval_rows, pool):
    from sfdpo_helpers.judges.gold import check_reference

    dev = read("dev_prompts.jsonl")
    for name, rows in {"sft": sft, "pairs": pairs, "eval": eval_rows, "dev": dev, "pool": pool}.items():
        for i, row in enumerate(rows):
            check_reference(row["reference"], i)
        kinds = {r["reference"]["task"] for r in rows}
        assert kinds == {"number", "choice", "facts", "phrase", "topic"}, (name, kinds)


def test_every_sft_reply_and_every_chosen_answer_is_right_on_its_task(sft, pairs):
    from sfdpo_helpers.judges.gold import task_score

    answers = [(sft_prompt(r), r["messages"][1]["content"], r) for r in sft]
    answers += [(r["prompt"], r["chosen"][1]["content"], r) for r in pairs]
    wrong = [
        (p, a, task_score(p, a, r["reference"])[1]) for p, a, r in answers if task_score(p, a, r["reference"])[0] != 1
    ]
    assert not wrong, wrong[:3]


def test_the_gold_reward_prefers_the_chosen_answer_of_at_least_97_percent_of_the_pairs(pairs, gold_judge):
    prompts = [r["prompt"] for r in pairs]
    chosen = gold_judge.score(prompts, [r["chosen"][1]["content"] for r in pairs])
    rejected = gold_judge.score(prompts, [r["rejected"][1]["content"] for r in pairs])
    not_above = [r["prompt"][:60] for r, c, w in zip(pairs, chosen, rejected) if not c > w]
    assert len(not_above) <= 0.03 * len(pairs), not_above[:5]


def test_wrong_answer_pairs_keep_every_instruction_and_state_a_wrong_answer(pairs, gold_judge):
    """The kind the verifiable judge cannot see: same formats, a wrong number, name, label, fact or phrase."""
    wrong = [r for r in pairs if r["rejected_kind"] == "wrong answer"]
    assert 0.1 <= len(wrong) / len(pairs) <= 0.3, len(wrong)
    assert {r["reference"]["task"] for r in wrong} == {"number", "choice", "facts", "phrase"}
    prompts = [r["prompt"] for r in wrong]
    texts = [r["rejected"][1]["content"] for r in wrong]
    assert judge_scores(wrong, prompts, texts) == [1.0] * len(wrong)  # every instruction followed
    assert gold_judge.task_scores(prompts, texts) == [0] * len(wrong)
    assert gold_judge.task_scores(prompts, [r["chosen"][1]["content"] for r in wrong]) == [1] * len(wrong)
