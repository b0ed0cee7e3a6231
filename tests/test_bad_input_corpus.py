"""The malformed-input corpus: each bad input, its expected outcome (a named error or a counted skip).

Outcomes: ``("error", ExceptionType, words the message must contain)`` or ``("skip", reason)``.
No case may surface as a traceback from inside torch or tokenizers: every error must be one of ours
(DataError, ParameterError, ValueError, FileNotFoundError) with a message naming the place.
"""

import pytest

from sfdpo_helpers import checkpoints, data, models, settings
from sfdpo_helpers.data import DataError

U, A = "user", "assistant"
GOOD = [{"role": U, "content": "What is 2+2?"}, {"role": A, "content": "2 + 2 = 4, a classic first sum."}]


def sft(row):
    return lambda tmp, tok: data.sft_rows([{"messages": GOOD}, row], "smoltalk", on_error="raise")


def sft_skip(row):
    return lambda tmp, tok: data.sft_rows([{"messages": GOOD}, row], "smoltalk")[1]


def pair(row):
    return lambda tmp, tok: data.pair_rows([row], "ultrafeedback", on_error="raise")


def jsonl(raw: bytes):
    def run(tmp, tok):
        path = tmp / "bad.jsonl"
        path.write_bytes(raw)
        return data.read_jsonl(path)

    return run


def judge(instruction, kwargs):
    def run(tmp, tok):
        from sfdpo_helpers.judges import VerifiableJudge

        return VerifiableJudge([{"prompt": "Write.", "instruction_id_list": [instruction], "kwargs": [kwargs]}])

    return run


def injected(**values):
    def run(tmp, tok):
        cell = "run = 'offline'\nn_rows = 10\nlr = 0.1\nmodel = 'tiny'\n"
        ns = {"In": ["", cell, "# Parameters\n" + "".join(f"{k} = {v!r}\n" for k, v in values.items())]}
        exec(cell, ns)
        ns.update(values)
        return settings.check_injected(ns)

    return run


def run_setting(**values):
    return lambda tmp, tok: settings.load(values)


def checkpoint_missing(tmp, tok):
    return checkpoints.load(None, tmp / "no-such-checkpoint")


def checkpoint_half_written(tmp, tok):
    run = tmp / "run"
    (run / "step-000004").mkdir(parents=True)
    (run / "step-000004" / "state.json").write_text("{}")
    (run / "latest").write_text("step-000004\n")
    return checkpoints.latest(run)


def long_content(tmp, tok):
    rows = [{"prompt": "Summarise. " + "word " * 5000, "response": "Done. " * 2000}]
    return data.prepare_sft(rows, tok, 255, 420)[1]


def sizes_zero(tmp, tok):
    return data.prepare_sft([], tok, max_prompt_tokens=0)


def pair_prompt_over_budget(tmp, tok):
    from sfdpo_helpers.collators import tokenize_pairs

    return tokenize_pairs([{"prompt": "q " * 400, "chosen": "a", "rejected": "b"}], tok, max_prompt_tokens=64)[1]


def train_settings_negative(tmp, tok):
    from sfdpo_helpers.training import TrainSettings

    return TrainSettings(batch_size=-1)


CORPUS = {
    "sft: misnamed column": (sft({"conversation": GOOD}), ("error", DataError, "row 1: missing field 'messages'")),
    "sft: messages not a list": (sft({"messages": "hi"}), ("error", DataError, "row 1: messages: expected a list")),
    "sft: wrong first role": (sft({"messages": GOOD[::-1]}), ("error", DataError, "messages[0].role: expected 'user'")),
    "sft: non-alternating turns": (sft({"messages": [GOOD[0], GOOD[0]]}), ("error", DataError, "messages[1].role")),
    "sft: unknown role": (
        sft({"messages": [{"role": "human", "content": "x"}, GOOD[1]]}),
        ("error", DataError, "got 'human'"),
    ),
    "sft: empty content": (
        sft({"messages": [GOOD[0], {"role": A, "content": ""}]}),
        ("error", DataError, "messages[1].content: empty"),
    ),
    "sft: whitespace-only content": (
        sft({"messages": [{"role": U, "content": " \n\t"}, GOOD[1]]}),
        ("error", DataError, "content: empty"),
    ),
    "sft: non-string content": (
        sft({"messages": [{"role": U, "content": ["a"]}, GOOD[1]]}),
        ("error", DataError, "expected a string, got list"),
    ),
    "sft: None content": (
        sft({"messages": [{"role": U, "content": None}, GOOD[1]]}),
        ("error", DataError, "got NoneType"),
    ),
    "sft: None message": (sft({"messages": [None, GOOD[1]]}), ("error", DataError, "expected a message dict")),
    "sft: single turn": (sft({"messages": GOOD[:1]}), ("error", DataError, "needs a user turn and an assistant reply")),
    "sft: duplicate prompt": (sft_skip({"messages": GOOD}), ("skip", "duplicate prompt")),
    "pairs: missing rejected": (pair({"chosen": GOOD}), ("error", DataError, "missing field 'rejected'")),
    "pairs: chosen == rejected": (pair({"chosen": GOOD, "rejected": GOOD}), ("error", DataError, "chosen == rejected")),
    "pairs: row not an object": (pair(["chosen"]), ("error", DataError, "expected an object, got list")),
    "pairs: prompt alone over budget": (pair_prompt_over_budget, ("skip", "over the budget of 64")),
    "jsonl: invalid UTF-8": (jsonl(b'{"a": 1}\n{"a": "\xc3\x28"}\n'), ("error", DataError, "line 2: invalid UTF-8")),
    "jsonl: truncated JSON": (jsonl(b'{"a": 1}\n{"a": \n'), ("error", DataError, "line 2: invalid JSON")),
    "jsonl: not an object": (jsonl(b'"text"\n'), ("error", DataError, "line 1: expected a JSON object")),
    "ifeval: unknown instruction id": (judge("format:made_up", {}), ("error", ValueError, "format:made_up")),
    "ifeval: kwarg of another instruction": (
        judge("punctuation:no_comma", {"num_words": 3}),
        ("error", ValueError, "num_words"),
    ),
    "ifeval: wrong kwarg type": (
        judge("length_constraints:number_words", {"num_words": "many", "relation": "at least"}),
        ("error", ValueError, "num_words"),
    ),
    "papermill: unknown parameter": (
        injected(n_row=5),
        ("error", settings.ParameterError, "unknown parameter(s) ['n_row']"),
    ),
    "papermill: wrong type": (injected(n_rows="10"), ("error", settings.ParameterError, "n_rows='10' should be int")),
    "run setting: unknown": (run_setting(n_sft_row=5), ("error", settings.ParameterError, "['n_sft_row']")),
    "run setting: zero size": (run_setting(batch_size=0), ("error", settings.ParameterError, "must be positive")),
    "run setting: negative lr": (
        run_setting(dpo={"lr": -0.1}),
        ("error", settings.ParameterError, "lr and epochs must be positive"),
    ),
    "sizes: zero token budget": (sizes_zero, ("error", ValueError, "must be positive")),
    "sizes: negative batch": (train_settings_negative, ("error", ValueError, "batch_size must be positive, got -1")),
    "very long content": (long_content, ("skip", "responses truncated to 420 tokens")),
    "checkpoint: folder does not exist": (checkpoint_missing, ("error", FileNotFoundError, "does not exist")),
    "checkpoint: half-written": (
        checkpoint_half_written,
        ("error", FileNotFoundError, "incomplete: no model weights"),
    ),
}


@pytest.mark.parametrize("name", list(CORPUS))
def test_bad_input(name, tmp_path, tokenizer):
    trigger, expected = CORPUS[name]
    if expected[0] == "error":
        _, kind, words = expected
        with pytest.raises(kind) as err:
            trigger(tmp_path, tokenizer)
        assert words in str(err.value)
        assert "torch" not in type(err.value).__module__ and "tokenizers" not in type(err.value).__module__
    else:
        outcome = trigger(tmp_path, tokenizer)
        counted = outcome.skipped if hasattr(outcome, "skipped") else outcome
        assert any(expected[1] in reason and n >= 1 for reason, n in dict(counted).items()), counted


def test_corpus_size_and_outcome_counts():
    outcomes = [expected[0] for _, expected in CORPUS.values()]
    assert len(CORPUS) >= 20
    assert outcomes.count("error") >= 15 and outcomes.count("skip") >= 3


def _prepared(hidden_size: int = 64):
    import torch

    from sfdpo_helpers import training

    acc = training.make_accelerator(training.TrainSettings())
    model = models.tiny_model(models.load_tokenizer("tiny"), hidden_size=hidden_size)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    model, opt = acc.prepare(model, opt)
    acc.register_for_checkpointing(torch.optim.lr_scheduler.LambdaLR(opt, lambda s: 1.0))
    return acc, model


def test_kill_during_save_leaves_previous_checkpoint_loadable(tmp_path):
    acc, model = _prepared()
    checkpoints.save(acc, tmp_path, 1, {"history": []})
    # a save interrupted half-way leaves only a staging folder behind
    staging = tmp_path / ".staging-step-000002"
    staging.mkdir()
    (staging / "model.safetensors").write_bytes(b"\0" * 10)
    assert checkpoints.latest(tmp_path).name == "step-000001"
    assert checkpoints.load(acc, checkpoints.latest(tmp_path))["step"] == 1


SAVER = """
import sys, torch
sys.path.insert(0, {root!r})
from sfdpo_helpers import checkpoints, models, training
acc = training.make_accelerator(training.TrainSettings())
model = models.tiny_model(models.load_tokenizer("tiny"), hidden_size=128)
opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
model, opt = acc.prepare(model, opt)
acc.register_for_checkpointing(torch.optim.lr_scheduler.LambdaLR(opt, lambda s: 1.0))
for step in range(1, 100000):
    with torch.no_grad():
        next(model.parameters()).add_(1.0)
    checkpoints.save(acc, {run!r}, step, {{"history": []}})
    print("saved", step, flush=True)
"""


@pytest.mark.slow
def test_sigkill_during_saves_always_leaves_a_loadable_checkpoint(tmp_path):
    import random
    import signal
    import subprocess
    import sys
    import time
    from pathlib import Path

    import torch

    root = str(Path(__file__).resolve().parents[1])
    rng = random.Random(7)
    for attempt in range(3):
        run = tmp_path / f"run{attempt}"
        proc = subprocess.Popen(
            [sys.executable, "-c", SAVER.format(root=root, run=str(run))], stdout=subprocess.PIPE, text=True
        )
        for line in proc.stdout:  # wait for a few saves, then kill at a random moment inside the next ones
            if line.startswith("saved 3"):
                break
        time.sleep(rng.uniform(0.0, 0.3))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        ckpt = checkpoints.latest(run)
        acc, model = _prepared(hidden_size=128)
        state = checkpoints.load(acc, ckpt)
        assert state["step"] >= 3 and ckpt.name == f"step-{state['step']:06d}"
        fresh = models.tiny_model(models.load_tokenizer("tiny"), hidden_size=128)
        loaded, initial = next(model.parameters()).detach(), next(fresh.parameters()).detach()
        assert torch.allclose(loaded, initial + state["step"])  # the saver added 1.0 before each save
