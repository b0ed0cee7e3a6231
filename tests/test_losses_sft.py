"""The losses equal the naive full-logits computation (values and gradients), go through the model's forward,
and pick a chunk size / fused kernel that fits the device; accumulation equals one big batch."""

import pytest
import torch

from sfdpo_helpers.collators import pad_right, tokenize_example
from sfdpo_helpers.losses import (
    auto_chunk_size,
    batch_sequence_logps,
    final_hidden_states,
    fused_backend,
    sequence_logps,
    sft_loss_sum,
)
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
    logits = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits
    logits = logits.to(torch.promote_types(logits.dtype, torch.float32))  # float64 models stay float64
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


# --- through the model's forward (DDP / FSDP / PEFT wrappers see the forward) -----------------------


class CountingWrapper(torch.nn.Module):
    """Stands for DDP: holds the model as ``.module`` and must see every forward."""

    def __init__(self, module):
        super().__init__()
        self.module, self.calls = module, 0

    def forward(self, *args, **kwargs):
        self.calls += 1
        return self.module(*args, **kwargs)


def test_losses_call_the_wrapper_forward_and_compute_no_logits(tiny, batch):
    wrapped = CountingWrapper(tiny)
    head_rows = []
    hook = tiny.lm_head.register_forward_hook(lambda m, i, o: head_rows.append(o.shape[-2]))
    ours = batch_sequence_logps(wrapped, batch, chunk_size=4096)
    loss, n = sft_loss_sum(wrapped, batch)
    hook.remove()
    assert wrapped.calls == 2
    assert head_rows == [0, 0]  # the model's own output layer ran on zero positions
    naive = naive_sequence_logps(tiny, batch)
    torch.testing.assert_close(ours, naive, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(-loss, naive.sum(), rtol=1e-5, atol=1e-4)
    assert n == response_token_count(batch)


def test_final_hidden_states_equal_the_body_output(tiny, batch):
    ours = final_hidden_states(tiny, batch["input_ids"], batch["attention_mask"])
    body = tiny.model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).last_hidden_state
    torch.testing.assert_close(ours, body, rtol=0, atol=0)


def test_ddp_single_process_gradients_equal_naive(tiny, batch, tmp_path):
    import torch.distributed as dist

    dist.init_process_group("gloo", init_method=f"file://{tmp_path / 'store'}", rank=0, world_size=1)
    try:
        ddp = torch.nn.parallel.DistributedDataParallel(tiny)
        for _ in range(2):  # a second step fails if the first one left DDP's reducer unfinished
            tiny.zero_grad()
            loss, n = sft_loss_sum(ddp, batch, chunk_size=6)
            (loss / n).backward()
        ours = {k: p.grad.clone() for k, p in tiny.named_parameters()}
    finally:
        dist.destroy_process_group()
    tiny.zero_grad()
    naive = naive_sequence_logps(tiny, batch)
    (-naive.sum() / n).backward()
    for k, p in tiny.named_parameters():
        torch.testing.assert_close(ours[k], p.grad, rtol=1e-4, atol=1e-5 * p.grad.abs().max().item(), msg=k)


def test_lora_values_and_gradients_equal_naive(tiny, batch):
    peft = pytest.importorskip("peft")
    config = peft.LoraConfig(r=4, lora_alpha=8, target_modules=["q_proj", "v_proj", "down_proj"], task_type="CAUSAL_LM")
    model = peft.get_peft_model(tiny.double(), config)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "lora_B" in name:
                p.normal_(0.0, 0.3)
    batch_sequence_logps(model, batch, chunk_size=3).sum().backward()
    ours = {k: p.grad.clone() for k, p in model.named_parameters() if p.requires_grad}
    model.zero_grad()
    naive_sequence_logps(model, batch).sum().backward()
    assert ours and all("lora_" in k for k in ours)
    for k, p in model.named_parameters():
        if p.requires_grad:
            torch.testing.assert_close(ours[k], p.grad, rtol=1e-9, atol=1e-12, msg=k)
    with torch.no_grad():
        torch.testing.assert_close(batch_sequence_logps(model, batch), naive_sequence_logps(model, batch))


# --- chunk size ------------------------------------------------------------------------------------


def test_auto_chunk_size_on_cpu_keeps_128_mb_of_fp32_logits():
    assert auto_chunk_size(151_936) == 2**25 // 151_936 == 220
    assert auto_chunk_size(151_936, torch.device("cpu"), n_positions=100) == 100
    assert auto_chunk_size(10**9) == 16


def test_auto_chunk_size_on_cuda_comes_from_free_memory(monkeypatch):
    gib = 2**30
    monkeypatch.setattr(torch.cuda, "mem_get_info", lambda device=None: (56 * gib, 80 * gib))
    monkeypatch.setattr(torch.cuda, "memory_reserved", lambda device=None: 6 * gib)
    monkeypatch.setattr(torch.cuda, "memory_allocated", lambda device=None: 2 * gib)
    cuda = torch.device("cuda", 0)
    # (56 + 6 - 2) GiB free, 1/8 of it, 12 bytes per logit of a 151,936-token vocabulary
    expected = (60 * gib // 8) // (12 * 151_936)
    assert auto_chunk_size(151_936, cuda) == expected and 4000 < expected < 5000
    assert auto_chunk_size(151_936, cuda, n_positions=4096) == 4096  # one chunk
    monkeypatch.setattr(torch.cuda, "mem_get_info", lambda device=None: (gib // 4, 80 * gib))
    monkeypatch.setattr(torch.cuda, "memory_reserved", lambda device=None: 0)
    assert auto_chunk_size(151_936, cuda) == 256  # the floor
    assert auto_chunk_size(151_936, cuda, n_positions=10) == 10


def test_one_chunk_is_not_checkpointed_several_are(tiny, batch, monkeypatch):
    import sfdpo_helpers.losses as losses

    calls = []
    real = losses.checkpoint
    monkeypatch.setattr(losses, "checkpoint", lambda *a, **k: calls.append(1) or real(*a, **k))
    n = response_token_count(batch)
    sft_loss_sum(tiny, batch, chunk_size=n)[0].backward()
    assert calls == []
    sft_loss_sum(tiny, batch, chunk_size=n // 2 + 1)[0].backward()
    assert len(calls) == 2


# --- fused linear cross-entropy ---------------------------------------------------------------------


def test_fused_backend_choice():
    assert fused_backend("auto", "cpu") is None  # Liger and cut-cross-entropy are CUDA kernels
    assert fused_backend("none", "cpu") is None and fused_backend(None, "cpu") is None
    with pytest.raises(ValueError, match="cannot run here"):
        fused_backend("liger", "cpu")
    with pytest.raises(ValueError, match="fused must be"):
        fused_backend("fast", "cpu")


def _fused_matches_chunked(model, batch, backend):
    loss, n = sft_loss_sum(model, batch, chunk_size=5, fused="none")
    loss.backward()
    chunked = {k: p.grad.clone() for k, p in model.named_parameters()}
    model.zero_grad()
    fused_loss, fused_n = sft_loss_sum(model, batch, fused=backend)
    fused_loss.backward()
    assert fused_n == n
    return loss, fused_loss, chunked


def test_torch_fused_linear_cross_entropy_equals_chunked_head(tiny, batch):
    if fused_backend("torch", "cpu") is None:
        pytest.skip("this torch has no torch.nn.functional.linear_cross_entropy")
    model = tiny.double()
    loss, fused_loss, chunked = _fused_matches_chunked(model, batch, "torch")
    torch.testing.assert_close(fused_loss, loss, rtol=1e-10, atol=1e-9)
    for k, p in model.named_parameters():
        torch.testing.assert_close(p.grad, chunked[k], rtol=1e-8, atol=1e-10 * chunked[k].abs().max().item(), msg=k)


@pytest.mark.parametrize("backend,module", [("liger", "liger_kernel"), ("cce", "cut_cross_entropy")])
def test_cuda_fused_linear_cross_entropy_equals_chunked_head(tiny, batch, backend, module):
    import importlib.util

    if importlib.util.find_spec(module) is None:
        pytest.skip(f"{module} is not installed (pip install {module.replace('_', '-')} on a CUDA machine)")
    if not torch.cuda.is_available():
        pytest.skip(f"{module}'s kernel needs CUDA and this machine has no GPU")
    model = tiny.cuda()
    batch = {k: v.cuda() for k, v in batch.items()}
    with torch.autocast("cuda", dtype=torch.bfloat16):
        loss, fused_loss, chunked = _fused_matches_chunked(model, batch, backend)
    torch.testing.assert_close(fused_loss.float(), loss.float(), rtol=2e-2, atol=0)
    for k, p in model.named_parameters():
        scale = chunked[k].abs().max().item()
        torch.testing.assert_close(p.grad, chunked[k], rtol=0, atol=5e-2 * scale, msg=k)
