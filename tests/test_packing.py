"""Padding-free packing gives the same log-probs and gradients as right padding (float64, tight tolerance)."""

import pytest
import torch

from sfdpo_helpers.collators import (
    IGNORE,
    PackedPairCollator,
    PackedSFTCollator,
    PairCollator,
    SFTCollator,
    pack,
    token_budget_batches,
    tokenize_example,
    tokenize_pairs,
)
from sfdpo_helpers.losses import batch_sequence_logps, dpo_loss, sft_loss_sum

ROWS = [
    ("What is 2+2?", "It is 4."),
    ("Name a colour.", "Blue, like the sky on a clear day."),
    ("Say hi.", "Hi!"),
    ("Why is the sea salty?", "Rivers carry dissolved minerals into it, and evaporation leaves the salt behind."),
]
PAIRS = [
    {"prompt": "Name a colour.", "chosen": "Blue.", "rejected": "Seven, or maybe a table."},
    {"prompt": "Say hi.", "chosen": "Hi! How can I help?", "rejected": "No."},
    {"prompt": "What is 2+2?", "chosen": "4", "rejected": "It is five, I think, but I am not sure at all."},
]
TIGHT = dict(rtol=1e-9, atol=1e-10)


@pytest.fixture
def model64(tiny):
    return tiny.double()


@pytest.fixture
def examples(tokenizer):
    return [tokenize_example(tokenizer, p, r) for p, r in ROWS]


@pytest.fixture
def pairs(tokenizer):
    out, _ = tokenize_pairs(PAIRS, tokenizer)
    g = torch.Generator().manual_seed(0)
    ref = (-50 * torch.rand(len(out), 2, generator=g, dtype=torch.float64)).tolist()
    return [{**p, "ref_chosen": c, "ref_rejected": r} for p, (c, r) in zip(out, ref)]


def grads(model) -> dict[str, torch.Tensor]:
    out = {n: p.grad.clone() for n, p in model.named_parameters() if p.grad is not None}
    model.zero_grad(set_to_none=True)
    return out


def assert_same_grads(a: dict, b: dict):
    assert a.keys() == b.keys() and a
    for name in a:
        torch.testing.assert_close(a[name], b[name], rtol=1e-8, atol=1e-10 * b[name].abs().max().item(), msg=name)


def test_pack_layout():
    a = {"input_ids": [5, 6, 7], "labels": [IGNORE, 6, 7]}
    b = {"input_ids": [8, 9], "labels": [IGNORE, 9]}
    batch = pack([a, b])
    assert "attention_mask" not in batch
    assert batch["input_ids"].tolist() == [[5, 6, 7, 8, 9]]
    assert batch["labels"].tolist() == [[IGNORE, 6, 7, IGNORE, 9]]
    assert batch["position_ids"].tolist() == [[0, 1, 2, 0, 1]]
    assert batch["sequence_index"].tolist() == [[0, 0, 0, 1, 1]]
    assert PackedSFTCollator()([a, b]).keys() == batch.keys()


def test_pack_into_rows_completes_short_rows_with_a_padding_segment():
    a = {"input_ids": [5, 6, 7], "labels": [IGNORE, 6, 7]}
    b = {"input_ids": [8, 9], "labels": [IGNORE, 9]}
    c = {"input_ids": [1, 2, 3, 4], "labels": [IGNORE, IGNORE, 3, 4]}
    batch = pack([a, b, c], row_tokens=5, pad_token_id=0)
    assert batch["input_ids"].tolist() == [[5, 6, 7, 8, 9], [1, 2, 3, 4, 0]]
    assert batch["labels"].tolist() == [[IGNORE, 6, 7, IGNORE, 9], [IGNORE, IGNORE, 3, 4, IGNORE]]
    assert batch["position_ids"].tolist() == [[0, 1, 2, 0, 1], [0, 1, 2, 3, 0]]
    assert batch["sequence_index"].tolist() == [[0, 0, 0, 1, 1], [2, 2, 2, 2, -1]]
    assert pack([a, b, c], row_tokens=2)["input_ids"].shape == (3, 4)  # a row holds at least one example


def test_pack_refuses_a_label_on_the_first_token_of_an_example():
    ok = {"input_ids": [5, 6], "labels": [IGNORE, 6]}
    bad = {"input_ids": [8, 9], "labels": [8, 9]}
    with pytest.raises(ValueError, match="first token has a label"):
        pack([ok, bad])
    with pytest.raises(ValueError, match="labels for"):
        pack([{"input_ids": [1, 2], "labels": [IGNORE]}])


@pytest.mark.parametrize("average,row_tokens", [(False, None), (True, None), (False, 100)])
def test_packed_sequence_logps_equal_padded(model64, examples, tokenizer, average, row_tokens):
    padded = batch_sequence_logps(model64, SFTCollator(tokenizer.pad_token_id)(examples), average=average)
    packed_batch = PackedSFTCollator(row_tokens)(examples)
    assert packed_batch["input_ids"].shape[0] == (1 if row_tokens is None else 2)
    packed = batch_sequence_logps(model64, packed_batch, average=average)
    assert packed.shape == (len(examples),)
    torch.testing.assert_close(packed, padded, **TIGHT)
    # the block-diagonal mask matters: positions that do not restart let examples see each other
    positions = torch.arange(packed_batch["input_ids"].shape[1]).expand_as(packed_batch["input_ids"])
    leaky = dict(packed_batch, position_ids=positions)
    moved = (batch_sequence_logps(model64, leaky, average=average) - padded).abs() > 1e-3
    assert moved.sum() >= len(examples) - packed_batch["input_ids"].shape[0]  # all but the first of each row


def test_packed_sft_loss_and_gradient_equal_padded(model64, examples, tokenizer):
    loss, n = sft_loss_sum(model64, SFTCollator(tokenizer.pad_token_id)(examples), chunk_size=7)
    (loss / n).backward()
    padded = grads(model64)
    loss_p, n_p = sft_loss_sum(model64, PackedSFTCollator()(examples), chunk_size=7)
    (loss_p / n_p).backward()
    assert n_p == n
    torch.testing.assert_close(loss_p, loss, **TIGHT)
    assert_same_grads(grads(model64), padded)


def dpo_mean_loss(model, batch):
    logps = batch_sequence_logps(model, batch, chunk_size=5)
    n = batch["pair_index"].shape[0]
    losses, _, _ = dpo_loss(logps[:n], logps[n:], batch["ref_chosen"].double(), batch["ref_rejected"].double())
    return losses.mean()


@pytest.mark.parametrize("row_tokens", [None, 90])
def test_packed_dpo_loss_and_gradient_equal_padded(model64, pairs, tokenizer, row_tokens):
    padded_batch = PairCollator(tokenizer.pad_token_id)(pairs)
    padded_batch["ref_chosen"] = torch.tensor([p["ref_chosen"] for p in pairs])
    padded_batch["ref_rejected"] = torch.tensor([p["ref_rejected"] for p in pairs])
    loss = dpo_mean_loss(model64, padded_batch)
    loss.backward()
    padded = grads(model64)
    packed_batch = PackedPairCollator(row_tokens)(pairs)
    assert (packed_batch["input_ids"].shape[0] > 1) == (row_tokens is not None)
    loss_p = dpo_mean_loss(model64, packed_batch)
    loss_p.backward()
    torch.testing.assert_close(loss_p, loss, rtol=1e-9, atol=1e-9)
    assert_same_grads(grads(model64), padded)


def test_packed_pair_collator_order_and_reference_values(pairs):
    batch = PackedPairCollator()(pairs)
    n = len(pairs)
    assert batch["pair_index"].tolist() == [p["index"] for p in pairs]
    assert int(batch["sequence_index"].max()) + 1 == 2 * n
    first_chosen = pairs[0]["chosen"]["input_ids"]
    assert batch["input_ids"][0, : len(first_chosen)].tolist() == first_chosen
    start = sum(len(p["chosen"]["input_ids"]) for p in pairs)  # rejected sequences follow all chosen ones
    assert (
        batch["input_ids"][0, start : start + len(pairs[0]["rejected"]["input_ids"])].tolist()
        == (pairs[0]["rejected"]["input_ids"])
    )
    assert torch.equal(batch["ref_chosen"], torch.tensor([p["ref_chosen"] for p in pairs], dtype=torch.float32))
    assert batch["ref_rejected"].dtype == torch.float32
    plain = [{k: v for k, v in p.items() if not k.startswith("ref_")} for p in pairs]
    assert "ref_chosen" not in PackedPairCollator()(plain)


def test_lora_packed_equals_padded(model64, examples, tokenizer):
    peft = pytest.importorskip("peft")
    config = peft.LoraConfig(r=4, lora_alpha=8, target_modules=["q_proj", "v_proj", "up_proj"], task_type="CAUSAL_LM")
    model = peft.get_peft_model(model64, config)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "lora_B" in name:  # B = 0 at init would make the adapters the identity
                p.normal_(0.0, 0.3)
    padded_batch = SFTCollator(tokenizer.pad_token_id)(examples)
    packed_batch = PackedSFTCollator()(examples)
    torch.testing.assert_close(batch_sequence_logps(model, packed_batch), batch_sequence_logps(model, padded_batch))
    loss, n = sft_loss_sum(model, padded_batch)
    (loss / n).backward()
    padded = grads(model)
    assert all("lora_" in name for name in padded)
    loss_p, n_p = sft_loss_sum(model, packed_batch)
    (loss_p / n_p).backward()
    assert_same_grads(grads(model), padded)


# --- token budget ----------------------------------------------------------------------------------


def test_token_budget_batches_packed_is_a_greedy_ordered_partition():
    lengths = [int(x) for x in torch.randint(5, 300, (57,), generator=torch.Generator().manual_seed(1))]
    order = torch.randperm(57, generator=torch.Generator().manual_seed(2)).tolist()
    batches = token_budget_batches(lengths, 1000, order)
    assert [i for b in batches for i in b] == order  # same order, every example once
    for k, b in enumerate(batches):
        assert sum(lengths[i] for i in b) <= 1000
        if k + 1 < len(batches):  # greedy: the next example would not have fitted
            assert sum(lengths[i] for i in b) + lengths[batches[k + 1][0]] > 1000


def test_token_budget_batches_padded_counts_the_padded_rectangle():
    lengths = [10, 100, 10, 10, 10, 10]
    assert token_budget_batches(lengths, 200) == [[0, 1, 2, 3, 4, 5]]  # packed: 150 tokens
    assert token_budget_batches(lengths, 200, padded=True) == [[0, 1], [2, 3, 4, 5]]  # 2 x 100, then 4 x 10
    assert token_budget_batches(lengths, 200, padded=True, rows_per_example=2) == [[0], [1], [2, 3, 4, 5]]
    with pytest.raises(ValueError, match="over the budget"):
        token_budget_batches([10, 300], 200)
