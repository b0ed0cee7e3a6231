"""Policy and reference see the same precision: the reference pass, the eval metrics and the monitors all
run under the training accelerator's autocast (defect #10: an fp32 eval of the policy against a bf16
reference started with a non-zero margin). On this CPU, bf16 autocast stands in for a GPU's."""

import torch

from sfdpo_helpers import collators, dpo, models, training


def pairs(tokenizer):
    rows = [
        {"prompt": f"Say {w} {i}.", "chosen": f"{w} {i} is my answer here.", "rejected": f"No {i}."}
        for i, w in enumerate(["sun", "moon", "sea", "tree"])
    ]
    return collators.tokenize_pairs(rows, tokenizer, 64, 64)[0]


def test_eval_under_the_training_autocast_matches_the_reference_exactly(tokenizer):
    model = models.tiny_model(tokenizer, seed=0)
    acc = training.make_accelerator(training.TrainSettings(mixed_precision="bf16"))
    examples = dpo.precompute_reference(
        model, pairs(tokenizer), tokenizer.pad_token_id, 4, accelerator=acc, progress=False
    )
    objective = dpo.DPOSettings()
    with acc.autocast():  # how training._evaluate runs eval_fn: policy == reference, margin exactly 0
        same = dpo.eval_pairs(model, examples, objective, tokenizer.pad_token_id)
    fp32 = dpo.eval_pairs(model, examples, objective, tokenizer.pad_token_id)  # the old eval, outside autocast
    assert same["eval_rewards/margins"] == 0.0 and abs(same["eval_loss"] - 0.6931471805599453) < 1e-6
    assert fp32["eval_rewards/margins"] != 0.0  # what a precision mismatch looks like


def test_the_loop_runs_eval_and_monitor_under_the_training_precision(tmp_path, tokenizer):
    model = models.tiny_model(tokenizer, seed=0)
    seen = []  # (what, autocast on, autocast dtype) at every call of the monitor

    def monitor_fn(m, step):
        seen.append(("monitor", torch.is_autocast_enabled("cpu"), torch.get_autocast_dtype("cpu")))
        return {}

    settings = training.TrainSettings(
        lr=1e-3, max_steps=2, batch_size=2, micro_batch_size=2, eval_every=1, mixed_precision="bf16"
    )
    dpo.train_dpo(
        model,
        tokenizer,
        [{"prompt": "Hi?", "chosen": "Hello there, friend.", "rejected": "No."}] * 4,
        settings,
        tmp_path,
        reference="precomputed",
        progress=False,
        monitor_fn=monitor_fn,
    )
    assert seen and all(on and dtype == torch.bfloat16 for _, on, dtype in seen), seen
