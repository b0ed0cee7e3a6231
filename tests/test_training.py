"""Resume equals uninterrupted (after a real SIGKILL), the 2-process run equals 1 process, NaN stops."""

import json
import os
import random
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

SCRIPT = Path(__file__).parent / "scripts" / "train_tiny.py"
ENV = {**os.environ, "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}


def run(run_dir, *extra, kill_after=None):
    """Run the training script; with ``kill_after=k`` SIGKILL it once it announces micro-batch k."""
    proc = subprocess.Popen(
        [sys.executable, str(SCRIPT), str(run_dir), *extra],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=ENV,
    )
    lines = []
    for line in proc.stdout:
        lines.append(line)
        if kill_after is not None and line.strip() == f"micro-batch {kill_after}":
            proc.send_signal(signal.SIGKILL)
            break
    proc.wait(timeout=300)
    if kill_after is None:
        assert proc.returncode == 0, "".join(lines[-30:])
    else:
        assert proc.returncode == -signal.SIGKILL, "the child finished before it could be killed"
    return lines


def weights(run_dir):
    return load_file(str(Path(run_dir) / "final.safetensors"))


@pytest.mark.slow
@pytest.mark.parametrize("stage", ["sft", "dpo"])
def test_resume_after_sigkill_is_bitwise_equal(tmp_path, stage):
    run(tmp_path / "straight", "--stage", stage)
    reference = weights(tmp_path / "straight")
    # 6 steps x 2 micro-batches (+ final-eval forwards): kill points spread over the whole run
    rng = random.Random(20261126)
    kill_points = sorted(rng.sample(range(2, 12), 3))
    for k in kill_points:
        run_dir = tmp_path / f"killed-{k}"
        run(run_dir, "--stage", stage, kill_after=k)
        assert not (run_dir / "final.safetensors").exists()
        out = "".join(run(run_dir, "--stage", stage))
        got = weights(run_dir)
        assert got.keys() == reference.keys()
        for name in reference:
            assert torch.equal(got[name], reference[name]), f"kill at micro-batch {k}: {name} differs"
        assert "Resumed from" in out or k <= 2  # a kill before the first checkpoint restarts from scratch


@pytest.mark.slow
def test_two_processes_equal_one_process(tmp_path):
    pytest.importorskip("accelerate")
    common = ["--steps", "3", "--batch-size", "4", "--micro-batch-size", "1", "--save-every", "0"]
    run(tmp_path / "one", *common)
    cmd = [
        sys.executable,
        "-m",
        "accelerate.commands.launch",
        "--num_processes",
        "2",
        "--num_machines",
        "1",
        "--mixed_precision",
        "no",
        "--dynamo_backend",
        "no",
        "--cpu",
        str(SCRIPT),
        str(tmp_path / "two"),
        *common,
    ]
    res = subprocess.run(cmd, capture_output=True, text=True, env=ENV, timeout=300)
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    one, two = weights(tmp_path / "one"), weights(tmp_path / "two")
    start = None
    for name in one:
        torch.testing.assert_close(two[name], one[name], rtol=1e-5, atol=1e-6, msg=name)
    # and training did move the weights (the comparison is not between two untouched models)
    from sfdpo_helpers.models import load_tokenizer, tiny_model

    start = dict(tiny_model(load_tokenizer("tiny"), seed=0).named_parameters())
    assert any((one[n] - start[n].detach()).abs().max() > 1e-4 for n in one)


def test_non_finite_loss_stops_with_a_clear_message(tmp_path, tiny, tokenizer):
    from sfdpo_helpers import training
    from sfdpo_helpers.collators import SFTCollator, tokenize_example

    examples = [tokenize_example(tokenizer, "Hi", "Hello there.")] * 4
    calls = {"n": 0}

    def loss_sum(model, batch):
        calls["n"] += 1
        loss = model(**{k: batch[k] for k in ("input_ids", "attention_mask")}).logits.float().mean()
        return (loss * float("nan") if calls["n"] > 2 else loss), {}

    settings = training.TrainSettings(lr=1e-3, epochs=10, batch_size=2, micro_batch_size=2, max_steps=4, save_every=1)
    with pytest.raises(training.NonFiniteLossError, match=r"at step 3 .*example indices"):
        training.train(
            tiny,
            examples,
            SFTCollator(tokenizer.pad_token_id),
            loss_sum,
            lambda b: 1,
            [5] * 4,
            settings,
            tmp_path,
            progress=False,
        )
    from sfdpo_helpers import checkpoints

    assert checkpoints.latest(tmp_path).name == "step-000002"  # last good one kept, no NaN checkpoint


def test_fp16_overflow_stops_at_the_last_good_checkpoint_and_names_mixed_precision_no(tmp_path, tiny, tokenizer):
    """A T4 trains in fp16 (largest number 65,504). The loss here is computed in fp16 and overflows from step 3
    (activations scaled past fp16's range, as Qwen2's do): the run stops before saving, step 2's checkpoint is
    kept, and the message says what to change (mixed_precision: no, or bf16 where the GPU has it)."""
    from accelerate import Accelerator
    from accelerate.state import AcceleratorState

    from sfdpo_helpers import checkpoints, training
    from sfdpo_helpers.collators import SFTCollator, tokenize_example

    examples = [tokenize_example(tokenizer, "Hi", "Hello there.")] * 4
    calls = {"n": 0}

    def loss_sum(model, batch):
        calls["n"] += 1
        logits = model(**{k: batch[k] for k in ("input_ids", "attention_mask")}).logits
        scale = 1e6 if calls["n"] > 2 else 1.0  # from step 3 on, past fp16's range
        return ((logits * scale).half().float() ** 2).mean(), {}

    settings = training.TrainSettings(lr=1e-3, epochs=10, batch_size=2, micro_batch_size=2, max_steps=4, save_every=1)
    AcceleratorState._reset_state()
    try:
        acc = Accelerator(mixed_precision="fp16", cpu=True)  # the T4's precision, on a CPU (no loss scaler here)
        checkpoints.attach(acc)
        with pytest.raises(training.NonFiniteLossError) as err:
            training.train(
                tiny, examples, SFTCollator(tokenizer.pad_token_id), loss_sum, lambda b: 1, [5] * 4, settings,
                tmp_path, progress=False, accelerator=acc,
            )  # fmt: skip
    finally:
        AcceleratorState._reset_state()
    text = str(err.value)
    assert "loss is inf at step 3" in text and "mixed_precision: no" in text and "mixed_precision: bf16" in text
    assert checkpoints.latest(tmp_path).name == "step-000002"  # last good one kept, no overflowed checkpoint


def test_resume_with_other_settings_is_refused(tmp_path, tiny, tokenizer):
    from sfdpo_helpers import training
    from sfdpo_helpers.collators import SFTCollator, tokenize_example
    from sfdpo_helpers.losses import sft_loss_sum

    examples = [tokenize_example(tokenizer, "Hi", "Hello there.")] * 4
    args = (SFTCollator(tokenizer.pad_token_id), lambda m, b: (sft_loss_sum(m, b)[0], {}), lambda b: 4, [5] * 4)
    training.train(
        tiny, examples, *args, training.TrainSettings(lr=1e-3, max_steps=1, batch_size=2), tmp_path, progress=False
    )
    with pytest.raises(ValueError, match="other settings"):
        training.train(
            tiny, examples, *args, training.TrainSettings(lr=2e-3, max_steps=1, batch_size=2), tmp_path, progress=False
        )


def test_a_finished_dpo_run_resumes_only_as_the_same_run(tmp_path, tokenizer, mini_dir):
    """A rerun with another β, other pairs or another start model must not pick up the old run's last
    checkpoint (it would return the old model as if trained anew); the same run resumes at its end."""
    from sfdpo_helpers import data, dpo, training
    from sfdpo_helpers.models import tiny_model

    pairs = data.load_pairs(str(mini_dir))[0][:4]
    settings = training.TrainSettings(lr=1e-3, max_steps=1, batch_size=2, micro_batch_size=2)

    def rerun(objective=None, rows=pairs, seed=0, lora_seed=0):
        model = tiny_model(tokenizer, seed=seed)
        model = training.add_lora(model, r=4, seed=lora_seed)  # LoRA's random start is not part of the identity
        return dpo.train_dpo(model, tokenizer, rows, settings, tmp_path, objective, ref_cache_dir=tmp_path,
                             progress=False)[0]  # fmt: skip

    first = rerun()
    assert rerun(dpo.DPOSettings(beta=0.1), lora_seed=7) == first  # the same run: resumed at its end, not trained
    for other in ({"objective": dpo.DPOSettings(beta=0.5)}, {"rows": pairs[:2]}, {"seed": 1}):
        with pytest.raises(ValueError, match="another run: other examples, start weights"):
            rerun(**other)

    state = next(tmp_path.glob("step-*/state.json"))  # a checkpoint written before runs had an identity
    state.write_text(json.dumps({k: v for k, v in json.loads(state.read_text()).items() if k != "run"}))
    assert rerun(dpo.DPOSettings(beta=0.5)) == first  # is resumed as before (nothing to check it against)


def test_lora_start_follows_its_seed_not_the_global_generator(tiny):
    """An interrupted notebook reads its samples back instead of drawing them (which reseeds torch's global
    generator); the adapters it then trains must start where the uninterrupted run's did."""
    import copy

    from sfdpo_helpers import training

    def adapters(seed, global_seed):
        torch.manual_seed(global_seed)
        before = torch.random.get_rng_state()
        model = training.add_lora(copy.deepcopy(tiny), r=4, seed=seed)
        assert torch.equal(torch.random.get_rng_state(), before)  # the global generator is left as it was
        return {n: p.detach().clone() for n, p in model.named_parameters() if "lora_A" in n}

    first = adapters(seed=0, global_seed=1)
    assert first and all(torch.equal(first[n], p) for n, p in adapters(seed=0, global_seed=2).items())
    assert not any(torch.equal(first[n], p) for n, p in adapters(seed=1, global_seed=1).items())


def test_out_of_memory_names_the_parameters_to_lower(tmp_path, tiny, tokenizer):
    from sfdpo_helpers import training
    from sfdpo_helpers.collators import SFTCollator, tokenize_example

    def loss_sum(model, batch):
        raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")

    examples = [tokenize_example(tokenizer, "Hi", "Hello there.")] * 2
    settings = training.TrainSettings(lr=1e-3, max_steps=1, batch_size=2, micro_batch_size=1)
    with pytest.raises(RuntimeError) as err:
        training.train(
            tiny,
            examples,
            SFTCollator(tokenizer.pad_token_id),
            loss_sum,
            lambda b: 1,
            [5, 5],
            settings,
            tmp_path,
            progress=False,
        )
    message = str(err.value)
    for knob in ("micro_batch_size (now 1", "batch_size", "lengths", "gradient checkpointing"):
        assert knob in message


@pytest.mark.parametrize("stage", ["sft", "dpo"])
def test_packed_training_gives_the_padded_weights(tmp_path, tokenizer, stage):
    """settings.packing swaps the collator only: two steps on packed micro-batches end at the weights two steps
    on padded ones reach (float64, so only the summation order differs)."""
    from sfdpo_helpers import data, dpo, sft, training
    from sfdpo_helpers.models import tiny_model

    mini = Path(__file__).parent / "fixtures" / "mini"
    trained = {}
    for packing in (False, True):
        model = tiny_model(tokenizer, seed=0).double()
        settings = training.TrainSettings(lr=1e-3, max_steps=2, batch_size=4, micro_batch_size=2, packing=packing)
        run = tmp_path / f"{stage}-{packing}"
        if stage == "sft":
            rows, _ = data.load_sft(str(mini))
            sft.train_sft(model, tokenizer, rows[:8], [], settings, run, progress=False)
        else:
            pairs, _ = data.load_pairs(str(mini))
            dpo.train_dpo(model, tokenizer, pairs[:8], settings, run, reference="model", progress=False)
        trained[packing] = {n: p.detach().clone() for n, p in model.named_parameters()}
    start = dict(tiny_model(tokenizer, seed=0).double().named_parameters())
    for name, value in trained[False].items():
        torch.testing.assert_close(trained[True][name], value, rtol=1e-9, atol=1e-11, msg=name)
    assert any((v - start[n]).abs().max() > 1e-6 for n, v in trained[False].items())  # both runs trained


def test_models_are_saved_in_the_training_precision_on_a_gpu_and_load_back(tmp_path, tiny, tokenizer):
    """Six Qwen2.5-0.5B models in fp32 (2 GB each) fill a free 15 GB Drive: on a GPU a model is saved in the
    precision it trained in (half the bytes) and loads back with models.load_model as fp32 master weights."""
    import torch
    from safetensors import safe_open

    from sfdpo_helpers import models, training

    assert (
        training.saved_dtype("fp16", "cuda") == torch.float16 and training.saved_dtype("bf16", "cuda") == torch.bfloat16
    )
    assert training.saved_dtype("no", "cuda") == torch.float32 and training.saved_dtype("bf16", "cpu") == torch.float32
    lora = training.add_lora(tiny, r=4)
    saved = training.save_model(lora, tokenizer, tmp_path / "half", dtype=torch.float16)
    training.save_model(models.tiny_model(tokenizer, seed=0), tokenizer, tmp_path / "full", dtype=torch.float32)
    with safe_open(tmp_path / "half" / "model.safetensors", "pt") as f:
        assert {f.get_tensor(k).dtype for k in f.keys()} == {torch.float16}
    half, full = ((tmp_path / d / "model.safetensors").stat().st_size for d in ("half", "full"))
    assert half < 0.55 * full
    loaded = models.load_model(str(tmp_path / "half"), device="cpu")
    assert next(loaded.parameters()).dtype == torch.float32 and next(saved.parameters()).dtype == torch.float32
    ids = torch.tensor([[1, 2, 3, 4]])
    assert torch.equal(loaded(ids).logits, saved(ids).logits)  # the returned model is the saved one


def test_on_a_cpu_the_demo_keeps_saving_fp32(tmp_path, tiny, tokenizer):
    import torch
    from safetensors import safe_open

    from sfdpo_helpers import training

    before = {k: v.clone() for k, v in tiny.state_dict().items()}
    training.save_model(tiny, tokenizer, tmp_path / "m")  # no GPU: fp32, the weights exactly as trained
    with safe_open(tmp_path / "m" / "model.safetensors", "pt") as f:
        assert all(torch.equal(f.get_tensor(k), before[k]) for k in f.keys())
