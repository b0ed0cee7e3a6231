"""The judges package as a whole: make_judge, the Judge protocol, light import, SelfJudge, agreement_rate,
and RewardModelJudge on model objects with a small word-level tokenizer (loading by path and the
placement decision are in test_judges_reward_model.py, the API judge in test_judges_api.py, the IFEval
checks in test_judges_ifeval.py)."""

from pathlib import Path

import pytest

from sfdpo_helpers import judges
from sfdpo_helpers.judges import (
    JUDGES,
    ApiJudge,
    Judge,
    MissingInstructionsError,
    RewardModelJudge,
    SelfJudge,
    VerifiableJudge,
    agreement_rate,
    make_judge,
)

# ---------------------------------------------------------------------------
# make_judge and the Judge protocol
# ---------------------------------------------------------------------------

IFEVAL_ROW = {"prompt": "q", "instruction_id_list": ["punctuation:no_comma"], "kwargs": [{}]}


def test_public_names_are_importable():
    for name in [
        "VerifiableJudge",
        "RewardModelJudge",
        "ApiJudge",
        "SelfJudge",
        "agreement_rate",
        "check_instruction",
        "evaluate",
        "supported_instructions",
        "sentence_splitter_source",
        "parse_reward",
        "split_sentences",
        "make_judge",
        "JUDGES",
        "MissingInstructionsError",
    ]:
        assert callable(getattr(judges, name)) or name == "JUDGES", name
    assert JUDGES == ("gold", "verifiable", "reward", "api", "self")


def test_make_judge_verifiable_scores_ifeval_rows():
    judge = make_judge("verifiable", [IFEVAL_ROW])
    assert isinstance(judge, VerifiableJudge) and isinstance(judge, Judge)
    assert judge.score(["q", "q"], ["a, b", "a b"]) == [0.0, 1.0]


def test_make_judge_verifiable_refuses_prompts_without_instructions():
    rows = (
        [IFEVAL_ROW] + [{"prompt": f"hub prompt {i}"} for i in range(7)] + [{**IFEVAL_ROW, "instruction_id_list": []}]
    )
    with pytest.raises(MissingInstructionsError) as error:
        make_judge("verifiable", rows)
    message = str(error.value)
    assert message.startswith("8 of 9 rows have no instruction_id_list (rows 1, 2, 3, 4, 5, ...)")
    for part in [
        "IFEval-style",
        "demo data",
        "UltraFeedback",
        "judge='reward' (with reward_model=...)",
        "judge='api' (with api_base_url=... and api_model=...)",
        "judge='self'",
    ]:
        assert part in message
    assert isinstance(error.value, ValueError)
    with pytest.raises(ValueError, match="needs the IFEval rows"):
        make_judge("verifiable")


def test_make_judge_reward_needs_a_model_and_never_defaults_to_70b():
    with pytest.raises(ValueError, match=r"needs the setting reward_model .*Skywork/Skywork-Reward-V2-Qwen3-0.6B"):
        make_judge("reward", [IFEVAL_ROW])
    assert judges.SMALL_REWARD_MODEL == "Skywork/Skywork-Reward-V2-Qwen3-0.6B"


def test_make_judge_api(tmp_path):
    for kwargs, missing in [({"api_model": "m"}, "api_base_url=''"), ({"api_base_url": "http://x/v1"}, "api_model=''")]:
        with pytest.raises(ValueError, match=rf"needs the settings api_base_url and api_model .*{missing}"):
            make_judge("api", **kwargs)
    judge = make_judge(
        "api", api_base_url="http://127.0.0.1:9/v1/", api_model="m", api_key_env="K", reward_key="r", cache_dir=tmp_path
    )
    assert isinstance(judge, ApiJudge) and isinstance(judge, Judge)
    assert (judge.base_url, judge.model, judge.api_key_env, judge.reward_key) == (
        "http://127.0.0.1:9/v1",
        "m",
        "K",
        "r",
    )
    assert Path(judge._cache.path) == tmp_path / "api_judge_cache.jsonl"
    assert make_judge("api", api_base_url="http://x/v1", api_model="m")._cache.path is None


def test_make_judge_self_and_unknown_kinds(tokenizer, tiny):
    with pytest.raises(ValueError, match=r"judge='self' needs policy="):
        make_judge("self", tokenizer=tokenizer)
    judge = make_judge("self", policy=tiny, tokenizer=tokenizer)
    assert isinstance(judge, SelfJudge) and isinstance(judge, Judge)
    known = "'gold', 'verifiable', 'reward', 'api', 'self'"
    with pytest.raises(ValueError, match=rf"unknown judge 'gpt'; the judges are {known}"):
        make_judge("gpt")


# ---------------------------------------------------------------------------
# Tiny offline models
# ---------------------------------------------------------------------------

TEXTS = [
    "what is the capital of france",
    "paris is the capital",
    "i do not know",
    "write a poem about cats",
    "cats sleep all day long and purr",
    "no",
    "rate the response to the request below from to where is useless or wrong and is excellent",
    "answer with the number only request response rating",
]


def _tokenizer(split_digits=True, chat=True, bos=False):
    """A word-level tokenizer; ``bos=True`` makes it add "[BOS]" itself *and* start its template with
    "[BOS]" (Llama 3's situation, which the Skywork card's duplicate-BOS note is about)."""
    from tokenizers import Tokenizer, models, pre_tokenizers, processors
    from transformers import PreTrainedTokenizerFast

    words = ["[PAD]", "[UNK]", "[EOS]", "[BOS]", "<", ">", "[", "]", ".", ",", ":", "-", "</", "user", "assistant", "s"]
    words += [str(d) for d in range(10)] + ([] if split_digits else ["10"])
    for text in TEXTS:
        words += [w for w in text.split() if w not in words]
    words = list(dict.fromkeys(words))
    tok = Tokenizer(models.WordLevel({w: i for i, w in enumerate(words)}, unk_token="[UNK]"))
    splitters = [pre_tokenizers.Whitespace()]
    if split_digits:
        splitters.append(pre_tokenizers.Digits(individual_digits=True))
    tok.pre_tokenizer = pre_tokenizers.Sequence(splitters)
    specials = {"unk_token": "[UNK]", "pad_token": "[PAD]", "eos_token": "[EOS]"}
    if bos:
        specials["bos_token"] = "[BOS]"
        tok.post_processor = processors.TemplateProcessing(
            single="[BOS] $A", pair="[BOS] $A $B", special_tokens=[("[BOS]", words.index("[BOS]"))]
        )
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, **specials)
    fast.chat_template = (
        (
            ("[BOS] " if bos else "")
            + "{% for m in messages %}<{{ m['role'] }}> {{ m['content'] }} </s> {% endfor %}"
            + "{% if add_generation_prompt %}<assistant> {% endif %}"
        )
        if chat
        else None
    )
    return fast


def _model(kind, tokenizer, num_labels=1, init=0.02):
    import torch
    import transformers

    torch.manual_seed(0)
    config = transformers.Qwen2Config(
        vocab_size=len(tokenizer),
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=512,
        pad_token_id=tokenizer.pad_token_id,
        num_labels=num_labels,
        initializer_range=init,
    )
    return getattr(transformers, kind)(config).eval()


PROMPTS = ["what is the capital of france", "write a poem about cats", "what is the capital of france"]
RESPONSES = ["paris is the capital", "cats sleep all day long and purr", "i do not know"]


@pytest.mark.parametrize(
    "kind,chat",
    [("Qwen2ForSequenceClassification", True), ("Qwen2ForSequenceClassification", False), ("Qwen2ForCausalLM", True)],
    ids=["classifier-chat-template", "classifier-text-pair", "causal-lm-token0"],
)
def test_reward_model_batching_matches_one_by_one(kind, chat):
    tok = _tokenizer(chat=chat)
    model = _model(kind, tok)
    batched = RewardModelJudge(model, tok, batch_size=3).score(PROMPTS, RESPONSES)
    single = RewardModelJudge(model, tok, batch_size=1).score(PROMPTS, RESPONSES)
    assert len(batched) == 3 and all(isinstance(s, float) for s in batched)
    assert batched == pytest.approx(single, abs=1e-5)
    assert len(set(round(s, 6) for s in batched)) == 3  # one score per response
    swapped = RewardModelJudge(model, tok, batch_size=2).score(PROMPTS[::-1], RESPONSES[::-1])
    assert swapped == pytest.approx(batched[::-1], abs=1e-5)


def test_causal_lm_reward_is_logit_of_token_zero():
    import torch

    tok = _tokenizer()
    model = _model("Qwen2ForCausalLM", tok)
    text = tok.apply_chat_template(
        [{"role": "user", "content": PROMPTS[0]}, {"role": "assistant", "content": RESPONSES[0]}], tokenize=False
    )
    ids = torch.tensor([tok(text, add_special_tokens=False)["input_ids"]])
    with torch.no_grad():
        expected = model(input_ids=ids).logits[0, -1, 0].item()
    assert RewardModelJudge(model, tok).score(PROMPTS[:1], RESPONSES[:1])[0] == pytest.approx(expected, abs=1e-5)


def test_reward_model_rejects_multi_label_and_missing_tokenizer():
    tok = _tokenizer()
    with pytest.raises(ValueError, match="num_labels=1"):
        RewardModelJudge(_model("Qwen2ForSequenceClassification", tok, num_labels=2), tok)
    with pytest.raises(ValueError, match="tokenizer"):
        RewardModelJudge(_model("Qwen2ForSequenceClassification", tok))


def test_causal_lm_reward_model_needs_a_chat_template():
    tok = _tokenizer(chat=False)
    with pytest.raises(ValueError, match="Qwen2ForCausalLM: a causal-LM reward model needs a tokenizer with a chat"):
        RewardModelJudge(_model("Qwen2ForCausalLM", tok), tok)


def test_duplicate_bos_is_dropped_like_the_card():
    tok = _tokenizer(bos=True)
    bos = tok.bos_token_id
    text = tok.apply_chat_template([{"role": "user", "content": PROMPTS[0]}], tokenize=False)
    assert tok(text)["input_ids"][:2] == [bos, bos]  # the template's BOS and the tokenizer's own
    judge = RewardModelJudge(_model("Qwen2ForSequenceClassification", tok), tok)
    ids = judge._ids(PROMPTS[0], RESPONSES[0])["input_ids"]
    assert ids[0] == bos and ids[1] != bos
    causal = RewardModelJudge(_model("Qwen2ForCausalLM", tok), tok)  # Nemotron's card: the template's BOS only
    assert causal._ids(PROMPTS[0], RESPONSES[0])["input_ids"] == ids


def test_text_pair_classifier_with_token_type_ids_batches_like_one_by_one():
    """OpenAssistant's DeBERTa reward models take (question, answer) pairs with token type ids."""
    import torch
    import transformers

    tok = _tokenizer(chat=False)
    tok.model_input_names = ["input_ids", "token_type_ids", "attention_mask"]
    torch.manual_seed(0)
    config = transformers.DebertaV2Config(
        vocab_size=len(tok),
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=4,
        intermediate_size=64,
        type_vocab_size=2,
        num_labels=1,
        pad_token_id=tok.pad_token_id,
    )
    model = transformers.DebertaV2ForSequenceClassification(config).eval()
    ids = RewardModelJudge(model, tok, max_length=6)._ids(PROMPTS[0], RESPONSES[0])
    assert len(ids["input_ids"]) == 6 and set(ids["token_type_ids"]) == {0, 1}
    batched = RewardModelJudge(model, tok, batch_size=3).score(PROMPTS, RESPONSES)
    single = RewardModelJudge(model, tok, batch_size=1).score(PROMPTS, RESPONSES)
    assert batched == pytest.approx(single, abs=1e-5) and len(set(batched)) == 3


@pytest.mark.parametrize("split_digits", [True, False], ids=["ten-two-pass", "ten-one-token"])
def test_self_judge_scores_are_expected_ratings(split_digits):
    tok = _tokenizer(split_digits=split_digits)
    model = _model("Qwen2ForCausalLM", tok)
    judge = SelfJudge(model, tok, batch_size=3)
    assert bool(judge.ten_ids) is (not split_digits)
    probs = judge.probabilities(PROMPTS, RESPONSES)
    assert tuple(probs.shape) == (3, 10)
    assert probs.sum(-1).tolist() == pytest.approx([1.0, 1.0, 1.0], abs=1e-5)
    scores = judge.score(PROMPTS, RESPONSES)
    assert all(1.0 <= s <= 10.0 for s in scores)
    assert judge.score(PROMPTS, RESPONSES) == scores  # deterministic
    assert SelfJudge(model, tok, batch_size=1).score(PROMPTS, RESPONSES) == pytest.approx(scores, abs=1e-4)


def test_self_judge_rating_ten_from_the_kv_cache_equals_fresh_unpadded_passes():
    """When "10" is two tokens, P(10) = P("1") * P("0" | "1"): the second factor comes from one more step on
    the batch's KV cache; here both factors come from separate, unpadded forward passes of each row."""
    import torch

    tok = _tokenizer(split_digits=True)
    model = _model("Qwen2ForCausalLM", tok, init=0.5)  # large weights: positions and padding would show
    judge = SelfJudge(model, tok, batch_size=3)
    responses = ["paris", RESPONSES[1] + " and purr" * 12, "no"]  # rows of very different lengths
    probs = judge.probabilities(PROMPTS, responses)
    one = judge.digit_ids[1][0]
    for i, (prompt, response) in enumerate(zip(PROMPTS, responses)):
        ids = judge._ids(prompt, response)
        with torch.no_grad():
            first = model(torch.tensor([ids])).logits[0, -1].softmax(-1)
            after_one = model(torch.tensor([ids + [one]])).logits[0, -1].softmax(-1)
        digits = [first[judge.digit_ids[k]].sum() for k in range(1, 10)]
        p_zero = after_one[judge.zero_ids].sum()
        expected = torch.stack([digits[0] * (1 - p_zero), *digits[1:], digits[0] * p_zero])
        assert probs[i].tolist() == pytest.approx((expected / expected.sum()).tolist(), rel=1e-3)  # even P(10) ~ 1e-6
    lengths = [len(judge._ids(p, r)) for p, r in zip(PROMPTS, responses)]
    assert max(lengths) - min(lengths) >= 20  # the batch was padded


def test_a_shared_prefix_runs_once_and_changes_no_logit():
    """The rows' common start (the judge template) runs once and its KV cache is repeated: the logits, and the
    second step's, equal the plain left-padded pass's; at least one token of every row stays after the prefix."""
    import torch

    from sfdpo_helpers.judges._common import last_logits, shared_prefix_length

    assert shared_prefix_length([[1, 2, 3, 4], [1, 2, 5], [1, 2, 3]]) == 2
    assert shared_prefix_length([[1, 2, 3], [1, 2, 3]]) == 2  # the last token stays: it makes the logits
    assert shared_prefix_length([[1, 2, 3]]) == 0 and shared_prefix_length([[1, 2], [3, 2]]) == 0
    tok = _tokenizer(split_digits=True)
    model = _model("Qwen2ForCausalLM", tok, init=0.5)  # large weights: positions and padding would show
    judge = SelfJudge(model, tok)
    rows = [judge._ids(p, r) for p, r in zip(PROMPTS, ["paris", RESPONSES[1] + " and purr" * 12, "no"])]
    assert shared_prefix_length(rows) >= 5
    calls = []
    hook = model.register_forward_pre_hook(
        lambda m, args, kwargs: calls.append(kwargs["input_ids"].shape), with_kwargs=True
    )
    shared = last_logits(model, rows, tok.pad_token_id, then=7, share_prefix=True)
    hook.remove()
    plain = last_logits(model, rows, tok.pad_token_id, then=7)
    assert calls[0] == (1, shared_prefix_length(rows))  # the prefix, once, then the remainders, then one step
    assert [c[0] for c in calls] == [1, 3, 3]
    for a, b in zip(shared, plain):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-4)


def test_agreement_rate():
    a = [3.0, 1.0, 2.0, 2.0, 0.0, 5.0]
    assert agreement_rate(a, a) == 1.0
    assert agreement_rate(a, [-x for x in a], pairs=[(0, 1), (4, 5)]) == 0.0
    assert agreement_rate([1.0, 0.0], [1.0, 1.0]) == 0.5  # one judge ties
    assert agreement_rate(a, [1, 0, 0, 1, 0, 1]) == pytest.approx((1 + 0.5 + 1) / 3)
    with pytest.raises(ValueError, match="6 items but scores_b has 2"):
        agreement_rate(a, [1, 2])


def test_import_is_light():
    import subprocess
    import sys

    code = "import sys, sfdpo_helpers.judges; print(sorted({'torch','transformers','nltk'} & set(sys.modules)))"
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).resolve().parents[1],
    )
    assert out.stdout.strip() == "[]"


def test_cohen_kappa_against_a_worked_table():
    """50 items: both "yes" 20, both "no" 15, 5 and 10 split: p_o = 0.7, p_e = 0.6·0.5 + 0.4·0.5 = 0.5, κ = 0.4."""
    from sfdpo_helpers.judges import cohen_kappa

    a = [1] * 20 + [0] * 15 + [1] * 5 + [0] * 10
    b = [1] * 20 + [0] * 15 + [0] * 5 + [1] * 10
    assert cohen_kappa(a, b) == pytest.approx(0.4)
    assert cohen_kappa([1, 0, 1], [1, 0, 1]) == 1.0 and cohen_kappa([0, 0], [0, 0]) == 1.0
    assert cohen_kappa([1, 0], [0, 1]) == pytest.approx(-1.0)
    with pytest.raises(ValueError, match="same, non-zero length"):
        cohen_kappa([1], [1, 0])


def test_hand_labels_are_r_or_w_and_a_stray_letter_is_named():
    from sfdpo_helpers import settings, story

    assert story.labels("rw w,R") == [1, 0, 0, 1] and story.labels("") == []
    with pytest.raises(settings.ParameterError, match="'x' at position 3"):
        story.labels("rwx")
