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
    by_ids = {tuple(ids): p for p, ids in zip(PROMPTS, sampling._prompt_ids(tokenizer, PROMPTS))}
    seen, templated = [], []
    left_batch = sampling._left_batch
    render = sampling.prompt_text

    def count_templating(tok, prompt):
        templated.append(prompt)
        return render(tok, prompt)

    def spy(id_lists, pad_token_id, device):
        seen.extend(by_ids[tuple(ids)] for ids in id_lists)
        enc = left_batch(id_lists, pad_token_id, device)
        assert (enc["attention_mask"][:, -1] == 1).all(), "padding must be on the left"
        return enc

    monkeypatch.setattr(sampling, "_left_batch", spy)
    monkeypatch.setattr(sampling, "prompt_text", count_templating)
    out = greedy(untied, tokenizer, PROMPTS, batch_size=2)  # 3 batches
    assert templated == PROMPTS  # each prompt templated (and tokenized) once, not once to sort and once per batch
    monkeypatch.undo()

    def n_tokens(p):
        return len(tokenizer(sampling.prompt_text(tokenizer, p), add_special_tokens=False)["input_ids"])

    assert seen == sorted(PROMPTS, key=n_tokens)  # batched in token-length order ...
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


def test_one_temperature_per_sample_is_applied_to_its_own_rows(untied, tokenizer):
    """Same seed, same draws: k samples all at 0.7 given as a list equal k samples at temperature 0.7 (the list
    divides the logits exactly as transformers' warper does); with [near 0, 5.0], sample 0 of every prompt is
    the greedy answer, sample 1 is not (a layout mixing up rows or prompts fails)."""
    args = dict(max_new_tokens=6, batch_size=4, seed=5)
    same = sampling.generate(untied, tokenizer, PROMPTS, k=3, temperature=[0.7, 0.7, 0.7], **args)
    assert same == sampling.generate(untied, tokenizer, PROMPTS, k=3, temperature=0.7, **args)
    greedy = sampling.generate(untied, tokenizer, PROMPTS, k=1, temperature=0.0, max_new_tokens=6, batch_size=4)
    mixed = sampling.generate(untied, tokenizer, PROMPTS, k=2, temperature=[1e-4, 5.0], **args)
    assert [m[0] for m in mixed] == [g[0] for g in greedy]
    assert sum(m[1] != g[0] for m, g in zip(mixed, greedy)) >= len(PROMPTS) - 1
    for bad in ([0.7, 0.7], [0.7, 0.0, 1.0]):
        with pytest.raises(ValueError, match="k = 3"):
            sampling.generate(untied, tokenizer, PROMPTS, k=3, temperature=bad, **args)


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


# --------------------------------------------------------------------------- a Qwen2.5-style model


@pytest.fixture(scope="module")
def qwen(tmp_path_factory):
    """The rehearsal Qwen2.5-Instruct (tests/rehearsal_world.py): its generation_config says do_sample,
    repetition_penalty 1.1, top_k 20 and two end ids (``<|im_end|>``, ``<|endoftext|>``); its own random
    output head makes greedy answers varied."""
    import rehearsal_world as rw

    from sfdpo_helpers import models

    folder = rw.build_qwen_model(tmp_path_factory.mktemp("qwen"), "instruct", tied=False)
    return models.load_model(str(folder), device="cpu").eval(), models.load_tokenizer(str(folder))


def argmax_ids(model, tok, prompt: str, max_new_tokens: int, ends: set[int]) -> list[int]:
    """Greedy decoding written out: no penalty, no sampling, stop before the first end id."""
    ids = tok(sampling.prompt_text(tok, prompt), add_special_tokens=False)["input_ids"]
    new: list[int] = []
    with torch.no_grad():
        for _ in range(max_new_tokens):
            nxt = int(model(torch.tensor([ids + new])).logits[0, -1].argmax())
            if nxt in ends:
                break
            new.append(nxt)
    return new


def text(tok, ids: list[int]) -> str:
    return tok.decode(ids, skip_special_tokens=True).strip()


def test_greedy_is_plain_argmax_whatever_the_models_generation_config(qwen):
    model, tok = qwen
    config = model.generation_config
    assert config.repetition_penalty == 1.1 and config.do_sample and config.top_k == 20
    ends = {tok.convert_tokens_to_ids("<|im_end|>"), tok.convert_tokens_to_ids("<|endoftext|>")}
    assert set(sampling.end_ids(model, tok)) == ends
    # fp32 like the hand-written argmax ("auto" is bf16 on CPUs that have it, where near-ties may flip)
    got = sampling.generate(model, tok, PROMPTS, temperature=0.0, max_new_tokens=12, batch_size=4, precision="no")
    expected = [text(tok, argmax_ids(model, tok, p, 12, ends)) for p in PROMPTS]
    assert all(expected) and got == [[e] for e in expected]
    # the model's own settings (penalty 1.1) decode differently: this test would catch them leaking in
    enc = sampling._left_batch(sampling._prompt_ids(tok, PROMPTS), tok.pad_token_id, "cpu")
    theirs = model.generate(**enc, do_sample=False, max_new_tokens=12)
    decoded = tok.batch_decode(theirs[:, enc["input_ids"].shape[1] :], skip_special_tokens=True)
    assert [t.strip() for t in decoded] != expected


def test_stops_at_either_end_id(qwen):
    """``<|endoftext|>`` (from the model's generation_config) wins the 3rd step of the shortest prompt,
    ``<|im_end|>`` the 5th step of the next one: both answers end there, the other rows go on."""
    model, tok = qwen
    forced = {0: (3, tok.convert_tokens_to_ids("<|endoftext|>")), 1: (5, tok.convert_tokens_to_ids("<|im_end|>"))}
    calls = {"n": 0}

    def boost(module, inputs, output):
        calls["n"] += 1
        output = output.clone()
        for row, (step, end) in forced.items():
            if calls["n"] == step:  # call 1 is the prefill (1st new token)
                output[row, -1, end] = 1e4
        return output

    ids = sampling._prompt_ids(tok, PROMPTS)
    order = sorted(range(len(PROMPTS)), key=lambda i: len(ids[i]))  # the batch's row order
    fp32 = {"temperature": 0.0, "max_new_tokens": 10, "batch_size": 8, "precision": "no"}  # as argmax_ids
    free = sampling.generate(model, tok, PROMPTS, **fp32)
    handle = model.lm_head.register_forward_hook(boost)
    try:
        got = sampling.generate(model, tok, PROMPTS, **fp32)
    finally:
        handle.remove()
    for row, (step, _) in forced.items():
        i = order[row]
        plain = argmax_ids(model, tok, PROMPTS[i], 10, set())
        assert got[i] == [text(tok, plain[: step - 1])] and free[i] == [text(tok, plain)] != got[i]
    assert [got[i] for i in order[2:]] == [free[i] for i in order[2:]]


def test_greedy_answers_do_not_depend_on_batch_size(qwen):
    model, tok = qwen
    runs = [sampling.generate(model, tok, PROMPTS, temperature=0.0, max_new_tokens=10, batch_size=b) for b in (1, 3, 8)]
    assert runs[0] == runs[1] == runs[2] and len({r[0] for r in runs[0]}) > 1


def test_lora_wrapped_model_is_decoded_the_same_and_keeps_its_generation_config(qwen):
    """The notebooks sample from PEFT-wrapped policies: the decoder swap must reach the model under the wrapper
    and be undone afterwards (a fresh LoRA adapter changes nothing, so the answers are the base model's)."""
    import copy

    from sfdpo_helpers import training

    model, tok = qwen
    wrapped = training.add_lora(copy.deepcopy(model), r=4)
    plain = sampling.generate(model, tok, PROMPTS[:3], temperature=0.0, max_new_tokens=8)
    assert sampling.generate(wrapped, tok, PROMPTS[:3], temperature=0.0, max_new_tokens=8) == plain
    assert wrapped.get_base_model().generation_config.repetition_penalty == 1.1


def test_generation_runs_under_autocast_on_the_models_device(qwen, monkeypatch):
    from sfdpo_helpers import models

    model, tok = qwen
    seen = []
    real = models.autocast

    def spy(choice="auto", device=None):
        seen.append((choice, torch.device(device).type))
        return real(choice, device)

    monkeypatch.setattr(models, "autocast", spy)
    sampling.generate(model, tok, PROMPTS[:2], temperature=0.0, max_new_tokens=2, precision="bf16")
    assert seen == [("bf16", "cpu")]  # CPU: a no-op context; on a GPU, bf16 autocast on "cuda"


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
    expected = [sampling.SETTINGS_FILE] + [f"shard-{n:05d}.jsonl" for n in range(4)]
    assert sorted(p.name for p in killed.iterdir()) == expected  # no temp files; the record of the settings


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
