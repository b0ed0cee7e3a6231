"""Every cache is keyed by everything that decides its content, or refuses: change one input and the old
content never comes back (sample shards, reference log-probs, cached answers, the API judge's rewards,
training checkpoints)."""

import copy
import json

import pytest
import torch
from fake_openai_server import FakeRewardServer

from sfdpo_helpers import answers, dpo, models, pipeline, sampling, settings, stages, training
from sfdpo_helpers.collators import SFTCollator, tokenize_example, tokenize_pairs
from sfdpo_helpers.judges import ApiJudge
from sfdpo_helpers.losses import sft_loss_sum

PROMPTS = ["Name a colour.", "Write one word about the sea.", "Count to three."]


def _run(tmp_path, **overrides):
    return settings.load(
        {
            "base_model": "tiny",
            "out_dir": str(tmp_path / "run"),
            "figures_dir": str(tmp_path / "figures"),
            "max_new_tokens": 4,
            "gen_batch_size": 16,
            "mixed_precision": "no",
            **overrides,
        }
    )


def _middle_tensor_scaled(model, factor=1.05):
    """A copy of ``model`` whose first MLP down-projection (a tensor in the middle of the parameter list, not
    one of its first or last ones) is scaled: another model, as a retrained layer would be."""
    other = copy.deepcopy(model)
    with torch.no_grad():
        other.model.layers[0].mlp.down_proj.weight.mul_(factor)
    return other


# --- sample shards --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "change, named",
    [
        ({"temperature": 0.0}, "temperature 0.7 -> 0.0"),
        ({"max_new_tokens": 2}, "max_new_tokens 4 -> 2"),
        ({"seed": 8}, "seed 7 -> 8"),
        ({"precision": "bf16"}, "precision 'no' -> 'bf16'"),
        ({"model": "other"}, "model "),
    ],
)
def test_shards_in_a_given_folder_are_refused_when_any_input_changed(tmp_path, tiny, tokenizer, change, named):
    """Notebook 05's call: its folder (``pipeline.shards_folder``) does not name the temperature; the T=0.7
    samples must not come back for ``sample_temperature = 0`` (nor for another model, budget, seed, precision)."""
    folder = pipeline.shards_folder(_run(tmp_path), "rs_dpo", 2)
    kw = dict(shard_size=2, seed=7, progress=False, temperature=0.7, max_new_tokens=4, batch_size=2, precision="no")
    first = sampling.sample_to_shards(tiny, tokenizer, PROMPTS, folder, **kw)
    assert sampling.sample_to_shards(tiny, tokenizer, PROMPTS, folder, **kw) == first  # the same call resumes
    model = _middle_tensor_scaled(tiny) if change.pop("model", None) else tiny
    with pytest.raises(ValueError, match="holds samples drawn with other settings") as refused:
        sampling.sample_to_shards(model, tokenizer, PROMPTS, folder, **{**kw, **change})
    assert named in str(refused.value)


@pytest.mark.parametrize(
    "change",
    [{"model": "other"}, {"cfg": {"max_new_tokens": 2}}, {"seed": 2}, {"cfg": {"mixed_precision": "bf16"}}],
    ids=["weights", "max_new_tokens", "seed", "precision"],
)
def test_the_study_samples_are_drawn_anew_when_any_input_changed(tmp_path, tiny, tokenizer, change):
    """``stages.eight_samples`` (notebook 07, self-improvement rounds): its folder is named by everything that
    decides the samples, so a retrained model (or another budget, seed, precision) samples anew, and what comes
    back is what a fresh run with the new inputs draws."""
    cfg = _run(tmp_path)
    first = stages.eight_samples(cfg, tiny, tokenizer, PROMPTS, "round", seed=1)
    assert stages.eight_samples(cfg, tiny, tokenizer, PROMPTS, "round", seed=1) == first  # resumed, not redrawn
    model = _middle_tensor_scaled(tiny, 3.0) if change.get("model") else tiny
    changed = _run(tmp_path, **change.get("cfg", {}))
    seed = change.get("seed", 1)
    again = stages.eight_samples(changed, model, tokenizer, PROMPTS, "round", seed=seed)
    fresh = stages.eight_samples(_run(tmp_path / "fresh", **change.get("cfg", {})), model, tokenizer, PROMPTS,
                                 "round", seed=seed)  # fmt: skip
    assert again == fresh
    assert len(list((tmp_path / "run" / "samples").iterdir())) == 2


# --- reference log-probs --------------------------------------------------------------------------------


def test_reference_log_probs_of_another_reference_model_are_computed_anew(tiny, tokenizer, mini_dir, tmp_path):
    """π_ref differing only in a tensor in the middle of the network (not its first or last ones) gets its own
    cache file; the values that come back are that model's, not the first one's."""
    from sfdpo_helpers.data import load_pairs

    examples, _ = tokenize_pairs(load_pairs(str(mini_dir))[0][:4], tokenizer)
    pad = tokenizer.pad_token_id
    dpo.precompute_reference(tiny, examples, pad, batch_size=4, cache_dir=tmp_path, progress=False)
    other = _middle_tensor_scaled(tiny, 3.0)
    cached = dpo.precompute_reference(other, examples, pad, batch_size=4, cache_dir=tmp_path, progress=False)
    fresh = dpo.precompute_reference(other, examples, pad, batch_size=4, progress=False)
    assert [(e["ref_chosen"], e["ref_rejected"]) for e in cached] == [
        (e["ref_chosen"], e["ref_rejected"]) for e in fresh
    ]
    assert len(list(tmp_path.glob("ref_logps-*.json"))) == 2


# --- cached answers -------------------------------------------------------------------------------------


def test_answers_of_another_in_memory_model_are_never_read_from_the_cache(tmp_path, tiny, tokenizer):
    """``cached_answers`` of a model in memory (trained in this kernel, named ``policy``): another model under
    the same name answers for itself."""
    kw = dict(max_new_tokens=3, batch_size=2, precision="no")
    answers.cached_answers(tiny, tokenizer, PROMPTS, tmp_path / "cache", "policy", **kw)
    other = _middle_tensor_scaled(tiny, 3.0)
    cached = answers.cached_answers(other, tokenizer, PROMPTS, tmp_path / "cache", "policy", **kw)
    assert cached == answers.cached_answers(other, tokenizer, PROMPTS, tmp_path / "fresh", "policy", **kw)
    assert len(list((tmp_path / "cache").iterdir())) == 2


def test_answers_of_a_saved_folder_follow_its_generation_config_too(tmp_path, tiny, tokenizer):
    """A folder whose weights stay but whose generation config changes (other end-of-answer ids: other answers)
    gets its own cache folder."""
    folder = tmp_path / "model"
    training.save_model(tiny, tokenizer, folder)
    kw = dict(max_new_tokens=3, batch_size=2, precision="no")
    answers.model_answers(str(folder), PROMPTS, tmp_path / "cache", **kw)
    config = json.loads((folder / "generation_config.json").read_text())
    (folder / "generation_config.json").write_text(json.dumps({**config, "eos_token_id": [0, 1, 2]}))
    answers.model_answers(str(folder), PROMPTS, tmp_path / "cache", **kw)
    assert len(list((tmp_path / "cache").iterdir())) == 2


# --- the API judge's rewards ----------------------------------------------------------------------------


def test_api_rewards_are_cached_per_endpoint_and_reward_field(tmp_path, monkeypatch):
    """The same model name on another endpoint is asked, not answered from the first endpoint's cache."""
    monkeypatch.setenv("SFDPO_TEST_API_KEY", "k")
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    options = dict(api_key_env="SFDPO_TEST_API_KEY", requests_per_minute=None, cache_path=tmp_path / "cache.jsonl")
    with FakeRewardServer(key="k") as first, FakeRewardServer(key="k") as second:
        ApiJudge(first.base_url, "reward-model", **options).score(PROMPTS, ["a", "b", "c"])
        ApiJudge(second.base_url, "reward-model", **options).score(PROMPTS, ["a", "b", "c"])
        assert (first.requests, second.requests) == (3, 3)
        judge = ApiJudge(first.base_url, "reward-model", **options)
        assert judge.cache_key("p", "r") != ApiJudge(first.base_url, "other-model", **options).cache_key("p", "r")
        helpfulness = ApiJudge(first.base_url, "reward-model", reward_key="helpfulness", **options)
        assert judge.cache_key("p", "r") != helpfulness.cache_key("p", "r")


# --- training checkpoints -------------------------------------------------------------------------------


def _sft(model, tokenizer, run_dir, examples=None):
    examples = examples or [tokenize_example(tokenizer, "Hi", "Hello there.")] * 4
    args = (SFTCollator(tokenizer.pad_token_id), lambda m, b: (sft_loss_sum(m, b)[0], {}), lambda b: 4, [5] * 4)
    return training.train(
        model, examples, *args, training.TrainSettings(lr=1e-3, max_steps=1, batch_size=2), run_dir, progress=False
    )


def test_a_checkpoint_of_other_start_weights_is_not_resumed(tmp_path, tiny, tokenizer):
    """Start weights that differ in a middle tensor only (a retrained SFT model) are another run."""
    _sft(copy.deepcopy(tiny), tokenizer, tmp_path)
    with pytest.raises(ValueError, match=r"another run: other examples, start weights.*resume: false"):
        _sft(_middle_tensor_scaled(tiny), tokenizer, tmp_path)


def test_a_checkpoint_of_another_lora_rank_is_refused_with_the_way_out(tmp_path, tiny, tokenizer):
    """LoRA of another rank trains other parameters: refused with a message that says ``resume: false``."""
    _sft(training.add_lora(copy.deepcopy(tiny), r=4), tokenizer, tmp_path)
    with pytest.raises(ValueError, match=r"another run: .*LoRA rank.*resume: false"):
        _sft(training.add_lora(copy.deepcopy(tiny), r=8), tokenizer, tmp_path)


def test_a_checkpoint_of_the_same_run_still_resumes(tmp_path, tiny, tokenizer):
    first = _sft(training.add_lora(copy.deepcopy(tiny), r=4), tokenizer, tmp_path)
    assert _sft(training.add_lora(copy.deepcopy(tiny), r=4, seed=3), tokenizer, tmp_path) == first


def test_weights_samples_cover_every_tensor(tiny):
    """The shared fingerprint of an in-memory model changes with any tensor; LoRA adapters count for sampling,
    not for the reference (adapters off)."""
    base = models.parameters_sample(tiny)
    assert models.parameters_sample(_middle_tensor_scaled(tiny)) != base
    lora = training.add_lora(copy.deepcopy(tiny), r=4)
    for module in lora.modules():
        if hasattr(module, "lora_B"):
            for b in module.lora_B.values():
                torch.nn.init.normal_(b.weight, std=0.5)
    assert models.parameters_sample(lora, lora=False) == base
    assert models.parameters_sample(lora) != base


def test_the_weights_sample_reaches_the_last_value_of_a_tensor_past_two_to_the_24():
    """A float32 linspace of positions rounds past 2**24 elements (SmolLM2's embedding has 28,311,552) and
    indexed one past the end; the sample takes integer positions, the last one being the tensor's last value."""
    import torch

    from sfdpo_helpers.models import parameters_sample

    big = torch.nn.Module()
    big.weight = torch.nn.Parameter(torch.zeros(2**24 + 7, dtype=torch.bfloat16), requires_grad=False)
    before = parameters_sample(big)
    with torch.no_grad():
        big.weight[-1] = 1.0
    assert parameters_sample(big) != before
