"""Batched sampling: left padding, input order, K samples, seeds, temperature schedule, end of turn,
and resumable shards after a real SIGKILL."""

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from sfdpo_helpers import sampling
from sfdpo_helpers.collators import end_of_turn_id

SCRIPT = Path(__file__).parent / "scripts" / "sample_tiny.py"
ENV = {**os.environ, "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}

# different lengths, deliberately not in length order
PROMPTS = [
    "Write a haiku about the sea and the wind, please.",
    "Hi",
    "What is 2+2?",
    "Explain recursion in one long sentence with examples of trees and lists, then stop.",
    "Name a color.",
    "Give three reasons to learn Python.",
]


@pytest.fixture
def untied(tokenizer):
    """The tiny model with its own random output head.

    With tied embeddings a random model's greedy choice is the last input token ("\\n") forever, so
    every greedy answer is empty and comparisons between answers would prove nothing. A separate
    random head gives varied, prompt-dependent greedy text.
    """
    from sfdpo_helpers.models import tiny_model

    model = tiny_model(tokenizer, seed=0)
    model.config.tie_word_embeddings = False
    gen = torch.Generator().manual_seed(100)
    head = torch.randn(model.model.embed_tokens.weight.shape, generator=gen) * 0.5
    model.lm_head.weight = torch.nn.Parameter(head)
    return model.eval()


def greedy(model, tok, prompts, **kw):
    return sampling.generate(model, tok, prompts, k=1, temperature=0.0, max_new_tokens=8, **kw)


def test_left_padded_batch_equals_one_prompt_at_a_time(untied, tokenizer):
    batched = greedy(untied, tokenizer, PROMPTS, batch_size=8)
    alone = [greedy(untied, tokenizer, [p])[0] for p in PROMPTS]
    assert all(r[0] for r in alone), alone  # non-trivial answers
    assert len({r[0] for r in alone}) >= len(PROMPTS) - 1, alone  # prompt-dependent
    assert batched == alone


def test_results_in_input_order_although_batches_are_sorted(untied, tokenizer, monkeypatch):
    seen = []
    encode = sampling._encode_left

    def spy(tok, prompts, device):
        seen.extend(prompts)
        enc = encode(tok, prompts, device)
        assert (enc["attention_mask"][:, -1] == 1).all(), "padding must be on the left"
        return enc

    monkeypatch.setattr(sampling, "_encode_left", spy)
    out = greedy(untied, tokenizer, PROMPTS, batch_size=2)  # 3 batches
    n_tokens = lambda p: len(tokenizer(sampling.prompt_text(tokenizer, p), add_special_tokens=False)["input_ids"])
    assert seen == sorted(PROMPTS, key=n_tokens)  # batched in token-length order ...
    monkeypatch.undo()
    alone = [greedy(untied, tokenizer, [p])[0] for p in PROMPTS]
    assert out == alone  # ... and returned in input order


@pytest.mark.parametrize("k,batch_size", [(1, 4), (3, 4), (4, 16), (5, 3)])
def test_k_samples_per_prompt(tiny, tokenizer, k, batch_size):
    out = sampling.generate(tiny, tokenizer, PROMPTS, k=k, temperature=1.0, max_new_tokens=4, batch_size=batch_size)
    assert len(out) == len(PROMPTS)
    assert all(len(r) == k and all(isinstance(s, str) for s in r) for r in out)
    if k > 1:
        assert any(len(set(r)) > 1 for r in out)  # the k samples are not copies


def test_seeded_sampling_is_reproducible(tiny, tokenizer):
    def run(seed):
        return sampling.generate(
            tiny, tokenizer, PROMPTS, k=2, temperature=1.0, max_new_tokens=8, batch_size=4, seed=seed
        )

    first = run(3)
    torch.manual_seed(12345)  # the global RNG state before the call does not matter
    assert run(3) == first
    assert run(4) != first


def test_temperature_schedule_gives_eight_samples(tiny, tokenizer):
    out = sampling.generate_schedule(tiny, tokenizer, PROMPTS[:3], max_new_tokens=4, batch_size=8)
    assert len(out) == 3
    for row in out:
        assert [s["temperature"] for s in row] == [0.2, 0.2, 0.7, 0.7, 0.7, 1.2, 1.2, 1.2]
        assert all(isinstance(s["response"], str) for s in row)
    assert sampling.generate_schedule(tiny, tokenizer, PROMPTS[:3], max_new_tokens=4, batch_size=8) == out


def test_stops_at_end_of_turn(untied, tokenizer):
    """A hook makes ``<|im_end|>`` the winner at the 4th new token of the shortest prompt only: that
    answer ends there (3 tokens, no end-of-turn text) while the other rows of the batch go on."""
    eot = end_of_turn_id(tokenizer)
    assert tokenizer.convert_ids_to_tokens(eot) == "<|im_end|>"
    calls = {"n": 0}

    def boost(module, inputs, output):
        calls["n"] += 1
        if calls["n"] == 4:  # call 1 is the prefill (1st new token), call 4 gives the 4th
            output = output.clone()
            output[0, -1, eot] = 1e4  # row 0 of the (length-sorted) batch: the shortest prompt
        return output

    shortest = min(range(len(PROMPTS)), key=lambda i: len(PROMPTS[i]))
    handle = untied.lm_head.register_forward_hook(boost)
    try:
        out = greedy(untied, tokenizer, PROMPTS, batch_size=8)
    finally:
        handle.remove()
    free = greedy(untied, tokenizer, PROMPTS, batch_size=8)
    for i, (got, ref) in enumerate(zip(out, free)):
        assert "<|im_end|>" not in got[0]
        if i == shortest:
            ids = tokenizer(got[0], add_special_tokens=False)["input_ids"]
            assert got[0] and len(ids) <= 3, got
            assert ref[0].startswith(got[0]) and len(ref[0]) > len(got[0])
        else:
            assert got == ref  # the others continued after row 0 stopped


@pytest.mark.parametrize(
    "kwargs", [{"k": 0}, {"k": -1}, {"max_new_tokens": 0}, {"batch_size": 0}, {"temperature": -0.1}]
)
def test_invalid_arguments_raise(tiny, tokenizer, kwargs):
    with pytest.raises(ValueError):
        sampling.generate(tiny, tokenizer, PROMPTS[:2], **kwargs)


# --------------------------------------------------------------------------- resumable shards


def run_script(out_dir, result, *extra, pause_at=None):
    """Run the sampling script; with ``pause_at=n`` SIGKILL it when it is about to sample shard n."""
    cmd = [sys.executable, str(SCRIPT), str(out_dir), "--result", str(result), *extra]
    if pause_at is not None:
        cmd += ["--pause-at", str(pause_at)]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=ENV)
    lines = []
    for line in proc.stdout:
        lines.append(line.strip())
        if pause_at is not None and line.strip() == f"sampling shard {pause_at}":
            proc.send_signal(signal.SIGKILL)
            break
    proc.wait(timeout=300)
    if pause_at is None:
        assert proc.returncode == 0, "\n".join(lines[-30:])
    else:
        assert proc.returncode == -signal.SIGKILL, "the child finished before it could be killed"
    return lines


@pytest.mark.slow
def test_resume_after_sigkill_equals_uninterrupted(tmp_path):
    sys.path.insert(0, str(SCRIPT.parent))
    try:
        from sample_tiny import PROMPTS as SCRIPT_PROMPTS
    finally:
        sys.path.remove(str(SCRIPT.parent))
    prompts = SCRIPT_PROMPTS[:12]

    lines = run_script(tmp_path / "straight", tmp_path / "straight.json")
    assert [x for x in lines if x.startswith("sampling")] == [f"sampling shard {n}" for n in range(4)]
    reference = json.loads((tmp_path / "straight.json").read_text())

    killed = tmp_path / "killed"
    run_script(killed, tmp_path / "killed.json", pause_at=2)
    assert sorted(p.name for p in killed.glob("shard-*.jsonl")) == ["shard-00000.jsonl", "shard-00001.jsonl"]
    assert not (tmp_path / "killed.json").exists()
    lines = run_script(killed, tmp_path / "killed.json")
    # only the missing shards were sampled again
    assert [x for x in lines if x.startswith("sampling")] == ["sampling shard 2", "sampling shard 3"]
    resumed = json.loads((tmp_path / "killed.json").read_text())

    assert [r["prompt"] for r in resumed] == prompts  # in order, no duplicates, no gaps
    assert resumed == reference  # identical responses
    assert all(len(r["responses"]) == 2 for r in resumed)
    on_disk = [json.loads(line) for p in sorted(killed.glob("shard-*.jsonl")) for line in p.read_text().splitlines()]
    assert on_disk == reference
    assert sorted(p.name for p in killed.iterdir()) == [f"shard-{n:05d}.jsonl" for n in range(4)]  # no temp files


def test_shard_written_for_other_prompts_is_a_clear_error(tmp_path, tiny, tokenizer):
    prompts = [f"Question number {i}?" for i in range(6)]
    kw = dict(shard_size=2, progress=False, max_new_tokens=2, temperature=1.0)
    rows = sampling.sample_to_shards(tiny, tokenizer, prompts, tmp_path, **kw)
    assert [r["prompt"] for r in rows] == prompts
    # the same call again reads every shard back (no sampling needed)
    assert sampling.sample_to_shards(tiny, tokenizer, prompts, tmp_path, **kw) == rows

    changed = prompts[:3] + ["Another question?"] + prompts[4:]  # shard 1 differs
    with pytest.raises(ValueError, match=r"shard-00001\.jsonl was written for other prompts; use a new out_dir"):
        sampling.sample_to_shards(tiny, tokenizer, changed, tmp_path, **kw)
    with pytest.raises(ValueError, match=r"shard-00000\.jsonl was written for other prompts"):
        sampling.sample_to_shards(tiny, tokenizer, prompts, tmp_path, **{**kw, "shard_size": 3})
