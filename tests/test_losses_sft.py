"""sequence_logps equals the naive full-logits computation; accumulation equals one big batch."""

import pytest
import torch

from sfdpo_helpers.collators import pad_right, tokenize_example
from sfdpo_helpers.losses import sequence_logps, sft_loss_sum
from sfdpo_helpers.sft import response_token_count

ROWS = [
    ("What is 2+2?", "It is 4."),
    ("Name a colour.", "Blue, like the sky on a clear day."),
    ("Say hi.", "Hi!"),
    ("Count to five.", "One, two, three, four, five."),
    ("Why is the sea salty?", "Rivers carry dissolved minerals into it, and evaporation leaves the salt behind."),
]


@pytest.fixture
def batch(tokenizer):
    return pad_right([tokenize_example(tokenizer, p, r) for p, r in ROWS], tokenizer.pad_token_id)


def naive_sequence_logps(model, batch, average=False):
    logits = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits.float()
    logp = torch.log_softmax(logits[:, :-1], dim=-1)
    targets = batch["labels"][:, 1:]
    mask = targets != -100
    per_token = logp.gather(-1, targets.clamp(min=0)[..., None]).squeeze(-1) * mask
    total = per_token.sum(-1)
    return total / mask.sum(-1) if average else total


@pytest.mark.parametrize("chunk_size", [1, 7, 4096])
@pytest.mark.parametrize("average", [False, True])
def test_sequence_logps_matches_naive(tiny, batch, chunk_size, average):
    ours = sequence_logps(tiny, batch["input_ids"], batch["attention_mask"], batch["labels"], average, chunk_size)
    naive = naive_sequence_logps(tiny, batch, average)
    torch.testing.assert_close(ours, naive, rtol=1e-5, atol=1e-5)


def test_chunked_gradient_matches_naive(tiny, batch):
    sequence_logps(tiny, batch["input_ids"], batch["attention_mask"], batch["labels"], chunk_size=5).sum().backward()
    ours = {n: p.grad.clone() for n, p in tiny.named_parameters()}
    tiny.zero_grad()
    naive_sequence_logps(tiny, batch).sum().backward()
    for n, p in tiny.named_parameters():
        torch.testing.assert_close(ours[n], p.grad, rtol=1e-4, atol=1e-5 * p.grad.abs().max().item(), msg=n)


def test_accumulated_gradient_equals_full_batch_gradient(tiny, tokenizer):
    examples = [tokenize_example(tokenizer, p, r) for p, r in ROWS]
    full = pad_right(examples, tokenizer.pad_token_id)
    loss, n = sft_loss_sum(tiny, full)
    (loss / n).backward()
    reference = {k: p.grad.clone() for k, p in tiny.named_parameters()}
    tiny.zero_grad()
    # micro-batches of uneven size and uneven token counts: dividing each micro-batch by the
    # total token count of the whole batch gives back the full-batch gradient
    micro = [
        pad_right(examples[:1], tokenizer.pad_token_id),
        pad_right(examples[1:4], tokenizer.pad_token_id),
        pad_right(examples[4:], tokenizer.pad_token_id),
    ]
    total = sum(response_token_count(b) for b in micro)
    assert total == n
    for b in micro:
        loss, _ = sft_loss_sum(tiny, b)
        (loss / total).backward()
    for k, p in tiny.named_parameters():
        torch.testing.assert_close(p.grad, reference[k], rtol=1e-4, atol=1e-7, msg=k)
    # and the naive per-micro-batch mean would NOT give it (this is the trap)
    tiny.zero_grad()
    for b in micro:
        loss, m = sft_loss_sum(tiny, b)
        (loss / m / len(micro)).backward()
    diff = max((p.grad - reference[k]).abs().max().item() for k, p in tiny.named_parameters())
    assert diff > 1e-4
