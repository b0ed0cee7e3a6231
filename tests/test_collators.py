"""Prompt tokens are masked; the reply and its end-of-turn are trained, even though pad == eos."""

import pytest
import torch

from sfdpo_helpers.collators import (
    IGNORE,
    PairCollator,
    end_of_turn_id,
    length_grouped_batches,
    pad_right,
    tokenize_example,
    tokenize_pairs,
    tokenize_sft,
)
from sfdpo_helpers.data import DataError

CASES = [
    ("What is 2+2?", "It is 4."),
    ("Write a haiku about rain.", "Soft rain on the roof\nwhispers to the sleeping town\nmorning smells of earth"),
    ("Répondez en français : quelle heure est-il ?", "Il est midi.  Bonne journée !"),
    ("  leading spaces and trailing  ", "```python\nprint('hi')\n```"),
]


def test_pad_is_eos_is_end_of_turn(tokenizer):
    # the trap this kit must survive: SmolLM2 pads with its end-of-turn token
    assert tokenizer.pad_token_id == tokenizer.eos_token_id == end_of_turn_id(tokenizer)


@pytest.mark.parametrize("prompt,response", CASES)
def test_labels_decode_to_exactly_response_plus_end_of_turn(tokenizer, prompt, response):
    ex = tokenize_example(tokenizer, prompt, response)
    labelled = [t for t in ex["labels"] if t != IGNORE]
    assert tokenizer.decode(labelled) == response + "<|im_end|>"
    assert labelled[-1] == end_of_turn_id(tokenizer)
    # every prompt token is masked, and the prompt is what generation would see
    n = ex["prompt_len"]
    assert ex["labels"][:n] == [IGNORE] * n
    assert ex["input_ids"][n:] == labelled


def test_right_padding_keeps_end_of_turn_label(tokenizer):
    short = tokenize_example(tokenizer, "Hi", "Hello.")
    long = tokenize_example(tokenizer, "Tell me about the sea in detail please.", "The sea is large and deep and blue.")
    batch = pad_right([short, long], tokenizer.pad_token_id)
    n = len(short["input_ids"])
    # padding is on the right, masked in attention and labels
    assert batch["attention_mask"][0, :n].all() and not batch["attention_mask"][0, n:].any()
    assert (batch["labels"][0, n:] == IGNORE).all()
    # the pad positions carry the same id as the end-of-turn, but only the real one is a label
    eot = end_of_turn_id(tokenizer)
    assert (batch["input_ids"][0, n:] == eot).all()
    assert batch["labels"][0, n - 1] == eot
    assert int((batch["labels"][0] == eot).sum()) == 1


def test_budget_cuts_reply_and_counts_prompt_over_budget(tokenizer):
    rows = [{"prompt": "p " * 50, "response": "r " * 50}, {"prompt": "short", "response": "word " * 40}]
    examples, report = tokenize_sft(rows, tokenizer, max_prompt_tokens=40, max_response_tokens=10)
    assert len(examples) == 1 and report.skipped.total() == 1
    assert "over the budget of 40" in next(iter(report.skipped))
    assert sum(t != IGNORE for t in examples[0]["labels"]) == 10


def test_pair_validation_counts_every_skip(tokenizer):
    rows = [
        {"prompt": "Q1", "chosen": "good answer", "rejected": "bad answer"},
        {"prompt": "Q2", "chosen": "", "rejected": "bad"},
        {"prompt": "Q3", "chosen": "same", "rejected": "same "},
        {"prompt": "Q4 " * 100, "chosen": "a", "rejected": "b"},
        {"prompt": "Q5", "chosen": None, "rejected": "b"},
    ]
    pairs, report = tokenize_pairs(rows, tokenizer, max_prompt_tokens=60)
    assert [p["index"] for p in pairs] == [0]
    assert report.seen == 5 and report.kept == 1
    reasons = " | ".join(report.skipped)
    assert "'chosen' missing or empty" in reasons and "chosen == rejected" in reasons and "over the budget" in reasons
    batch = PairCollator(tokenizer.pad_token_id)(pairs * 2)
    assert batch["input_ids"].shape[0] == 4  # chosen rows, then rejected rows


def test_template_that_does_not_split_cleanly_is_an_error(tokenizer):
    class Broken:
        def __getattr__(self, name):
            return getattr(tokenizer, name)

        def apply_chat_template(self, messages, **kw):
            text = tokenizer.apply_chat_template(messages, **kw)
            return text.replace("<|im_start|>assistant", "<|im_start|>ASSISTANT") if len(messages) == 2 else text

        def __call__(self, *a, **kw):
            return tokenizer(*a, **kw)

    with pytest.raises(DataError, match="not a token prefix"):
        tokenize_example(Broken(), "Hi", "Hello")


def test_length_grouped_batches_are_a_seeded_partition():
    lengths = [int(x) for x in torch.randint(5, 500, (103,))]
    a = length_grouped_batches(lengths, 8, seed=1, epoch=0)
    assert a == length_grouped_batches(lengths, 8, seed=1, epoch=0)
    assert a != length_grouped_batches(lengths, 8, seed=1, epoch=1)
    flat = sorted(i for b in a for i in b)
    assert flat == list(range(103))

    # grouping cuts padding compared with a random order
    def pad(bs):
        return sum(max(lengths[i] for i in b) * len(b) - sum(lengths[i] for i in b) for b in bs)

    rand = torch.randperm(103, generator=torch.Generator().manual_seed(0)).tolist()
    assert pad(a) < pad([rand[i : i + 8] for i in range(0, 103, 8)]) / 2
