"""RewardModelJudge: fits-or-fails loading (issue #2), pad-token pooling (issue #12), both model kinds.

The models are tiny, randomly initialised, saved to tmp folders and loaded by path, with the
SmolLM2 tokenizer (ChatML template) of ``models.load_tokenizer("tiny")``.
"""

import pytest
import torch

from sfdpo_helpers.judges import Judge, ModelDoesNotFitError, RewardModelJudge, choose_placement, make_judge
from sfdpo_helpers.judges import reward_model as rm

GB = 10**9
PROMPTS = ["What is the capital of France?", "Write a haiku about cats.", "What is the capital of France?"]
RESPONSES = ["Paris.", "Soft paws in sunlight, a long nap until supper, purring all day long", "I don't know, sorry."]


def _conv(prompt, response):
    return [{"role": "user", "content": prompt}, {"role": "assistant", "content": response}]


# ---------------------------------------------------------------------------
# The placement decision, with made-up machines
# ---------------------------------------------------------------------------

NEMOTRON_PARAMS = 70_553_706_496  # LlamaConfig of Llama-3.1-70B counted on the meta device
QWEN3_06B_PARAMS = 596_050_944  # Qwen3-0.6B sequence classifier, counted the same way


def _place(n_params, dtype_bytes, gpus, cpu=64 * GB, accelerate=True, bitsandbytes=False):
    return choose_placement(
        n_params * dtype_bytes,
        gpus,
        cpu,
        accelerate=accelerate,
        bitsandbytes=bitsandbytes,
        bytes_4bit=int(n_params * rm.FOUR_BIT_BYTES_PER_PARAM),
        name="nvidia/Llama-3.1-Nemotron-70B-Reward-HF",
        dtype="bfloat16" if dtype_bytes == 2 else "float32",
    )


def test_nemotron_70b_on_one_h100_is_4bit_with_bitsandbytes_else_an_error():
    h100 = [79 * GB]
    placement = _place(NEMOTRON_PARAMS, 2, h100, bitsandbytes=True)
    assert placement.kind == "4bit" and placement.device_map == "cuda:0"
    assert 40 * GB < placement.weight_bytes < 50 * GB
    with pytest.raises(ModelDoesNotFitError) as error:
        _place(NEMOTRON_PARAMS, 2, h100, bitsandbytes=False)
    message = str(error.value)
    assert "Nemotron-70B-Reward-HF needs about 169.3 GB in bfloat16" in message
    assert "79.0 GB of free GPU memory" in message and "bitsandbytes is not installed" in message
    assert "judge='api'" in message and rm.SMALL_REWARD_MODEL in message


def test_nemotron_70b_spreads_over_two_h200s_with_accelerate_only():
    assert _place(NEMOTRON_PARAMS, 2, [140 * GB, 140 * GB]).kind == "multi_gpu"
    assert _place(NEMOTRON_PARAMS, 2, [140 * GB, 140 * GB]).device_map == "auto"
    with pytest.raises(ModelDoesNotFitError, match="2 GPU"):
        _place(NEMOTRON_PARAMS, 2, [140 * GB, 140 * GB], accelerate=False)
    # 4-bit over two small GPUs needs accelerate's device_map="auto"
    assert _place(NEMOTRON_PARAMS, 2, [30 * GB, 30 * GB], bitsandbytes=True).device_map == "auto"


def test_small_model_on_a_t4_goes_to_one_gpu_and_on_cpu_to_ram():
    t4 = [15 * GB]  # a 16 GB T4 with the CUDA context loaded: fp32 there (compute capability 7.5)
    placement = _place(QWEN3_06B_PARAMS, 4, t4)
    assert (placement.kind, placement.device_map) == ("gpu", "cuda:0")
    assert placement.weight_bytes == QWEN3_06B_PARAMS * 4
    assert _place(QWEN3_06B_PARAMS, 4, [2 * GB, 15 * GB]).device_map == "cuda:1"  # the freer GPU
    assert _place(QWEN3_06B_PARAMS, 4, [], cpu=8 * GB).kind == "cpu"
    with pytest.raises(ModelDoesNotFitError, match=r"no GPU and 1.0 GB of free RAM"):
        _place(QWEN3_06B_PARAMS, 4, [], cpu=1 * GB)


def test_judge_dtype_is_bf16_from_ampere_on_else_fp32():
    assert rm.judge_dtype((8, 0)) == "bfloat16" and rm.judge_dtype((9, 0)) == "bfloat16"
    assert rm.judge_dtype((7, 5)) == "float32"  # T4
    assert rm.judge_dtype(None) == "float32"  # CPU


# ---------------------------------------------------------------------------
# Tiny models saved to folders and loaded by path
# ---------------------------------------------------------------------------


def _small_config(cls_name, tokenizer, **extra):
    import transformers

    config_cls = transformers.Qwen2Config if cls_name.startswith("Qwen2") else transformers.LlamaConfig
    return config_cls(
        vocab_size=len(tokenizer),
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=512,
        **extra,
    )


def _save(tmp_path, cls_name, tokenizer, **extra):
    import transformers

    torch.manual_seed(0)
    model = getattr(transformers, cls_name)(_small_config(cls_name, tokenizer, **extra)).eval()
    path = tmp_path / cls_name
    model.save_pretrained(path, max_shard_size="2MB")  # sharded: a safetensors index is written
    tokenizer.save_pretrained(path)
    return path, model


@pytest.fixture
def classifier_dir(tmp_path, tokenizer):
    # config.pad_token_id 0 (<|endoftext|>, never in the text) differs from the tokenizer's pad id 2
    assert tokenizer.pad_token_id == 2
    return _save(tmp_path, "Qwen2ForSequenceClassification", tokenizer, num_labels=1, pad_token_id=0)


def _card_classifier_score(model, tokenizer, prompt, response):
    """One pair as the Skywork card scores it: template text, the tokenizer's specials, logits[0][0]."""
    text = tokenizer.apply_chat_template(_conv(prompt, response), tokenize=False)
    if tokenizer.bos_token is not None and text.startswith(tokenizer.bos_token):
        if tokenizer(text)["input_ids"][:2] == [tokenizer.bos_token_id] * 2:
            text = text[len(tokenizer.bos_token) :]
    with torch.no_grad():
        return model(**tokenizer(text, return_tensors="pt")).logits[0][0].item()


def test_classifier_batched_scores_equal_one_at_a_time_despite_pad_id_mismatch(classifier_dir, tokenizer):
    path, original = classifier_dir
    with pytest.warns(UserWarning, match=r"config.pad_token_id=0 but the tokenizer pads with id 2"):
        judge = RewardModelJudge(str(path), batch_size=3)
    assert judge.model.config.pad_token_id == judge.tokenizer.pad_token_id == 2
    assert judge.placement.kind == "cpu" and judge.model.dtype == torch.float32
    expected = [_card_classifier_score(original, tokenizer, p, r) for p, r in zip(PROMPTS, RESPONSES)]
    batched = judge.score(PROMPTS, RESPONSES)
    assert batched == pytest.approx(expected, abs=1e-5)
    assert judge.score(PROMPTS[::-1], RESPONSES[::-1]) == pytest.approx(expected[::-1], abs=1e-5)
    assert len({round(s, 5) for s in batched}) == 3


def test_classifier_ids_follow_the_card_and_keep_a_template_bos(classifier_dir, tokenizer):
    path, _ = classifier_dir
    with pytest.warns(UserWarning):
        judge = RewardModelJudge(str(path))
    text = tokenizer.apply_chat_template(_conv(PROMPTS[0], RESPONSES[0]), tokenize=False)
    ids = judge._ids(PROMPTS[0], RESPONSES[0])["input_ids"]
    assert ids == tokenizer(text)["input_ids"]
    assert ids[0] == tokenizer.bos_token_id  # SmolLM2's <|im_start|> is its BOS: not stripped as a duplicate


def test_causal_lm_reward_is_the_card_token0_logit(tmp_path, tokenizer):
    path, original = _save(tmp_path, "LlamaForCausalLM", tokenizer, pad_token_id=tokenizer.pad_token_id)
    judge = RewardModelJudge(path, batch_size=3)
    assert judge.causal_lm and judge.placement.kind == "cpu"
    expected = []
    for prompt, response in zip(PROMPTS, RESPONSES):
        enc = tokenizer.apply_chat_template(
            _conv(prompt, response), tokenize=True, add_generation_prompt=False, return_dict=True, return_tensors="pt"
        )
        with torch.no_grad():  # generate(max_new_tokens=1)'s scores[0][0][0] is this logit
            expected.append(original(**enc).logits[0, -1, 0].item())
    assert judge.score(PROMPTS, RESPONSES) == pytest.approx(expected, abs=1e-5)
    assert RewardModelJudge(path, batch_size=1).score(PROMPTS, RESPONSES) == pytest.approx(expected, abs=1e-5)
    by_factory = make_judge("reward", reward_model=str(path))
    assert isinstance(by_factory, Judge) and by_factory.score(PROMPTS, RESPONSES) == pytest.approx(expected, abs=1e-5)


def test_parameter_count_from_the_index_and_from_the_meta_device(classifier_dir):
    from transformers import AutoConfig, AutoModelForSequenceClassification

    path, original = classifier_dir
    n_real = sum(p.numel() for p in original.parameters())
    assert (path / "model.safetensors.index.json").exists()
    config = AutoConfig.from_pretrained(path)
    assert rm.parameter_count(str(path), config, AutoModelForSequenceClassification) == n_real
    # a hub id that is not cached: counted on the meta device, nothing downloaded
    assert rm.parameter_count("sfdpo-test/not-a-cached-model", config, AutoModelForSequenceClassification) == n_real


def test_a_model_that_does_not_fit_is_never_loaded(classifier_dir, monkeypatch):
    from transformers import AutoModelForSequenceClassification

    path, _ = classifier_dir

    def forbidden(*args, **kwargs):
        raise AssertionError("from_pretrained was called for a model that does not fit")

    monkeypatch.setattr(rm, "_cpu_free_bytes", lambda: 1000)
    monkeypatch.setattr(AutoModelForSequenceClassification, "from_pretrained", forbidden)
    with pytest.raises(
        ModelDoesNotFitError, match=r"needs about 0\.00\d+ GB in float32 \(weights \+ 20%\); this machine has no GPU"
    ):
        RewardModelJudge(str(path))


def test_tokenizer_without_pad_gets_its_eos(tmp_path, tokenizer):
    path, _ = _save(tmp_path, "Qwen2ForSequenceClassification", tokenizer, num_labels=1, pad_token_id=2)
    tok = type(tokenizer).from_pretrained(path)
    tok.pad_token = None
    model = RewardModelJudge(str(path)).model  # loads the model only
    assert tok.pad_token_id is None
    judge = RewardModelJudge(model, tok)
    assert judge.tokenizer.pad_token == tok.eos_token == "<|im_end|>"
    assert judge.score(PROMPTS, RESPONSES) == pytest.approx(
        RewardModelJudge(model, tok, batch_size=1).score(PROMPTS, RESPONSES), abs=1e-5
    )


def test_bad_dtype_is_named(classifier_dir):
    path, _ = classifier_dir
    with pytest.raises(ValueError, match=r"dtype must be one of \['bfloat16', 'float16', 'float32'\], got 'int8'"):
        RewardModelJudge(str(path), dtype="int8")
