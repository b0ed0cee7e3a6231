"""Malformed rows are errors that name dataset/row/field, or counted skips; nothing vanishes."""

import json

import pytest

from sfdpo_helpers import data
from sfdpo_helpers.data import DataError

U, A = "user", "assistant"


def msg(role, content):
    return {"role": role, "content": content}


GOOD = [msg(U, "What is the capital of France?"), msg(A, "Paris is the capital of France.")]

BAD_SFT = [  # (row, expected words in the error)
    ({"message": GOOD}, "missing field 'messages'"),
    ({"messages": "hello"}, "expected a list of messages"),
    ({"messages": [msg(U, "hi")]}, "needs a user turn and an assistant reply"),
    ({"messages": [msg(A, "hi"), msg(U, "hello")]}, "messages[0].role: expected 'user'"),
    ({"messages": [msg(U, "hi"), msg(U, "again")]}, "messages[1].role: expected 'assistant'"),
    ({"messages": [msg(U, "   "), msg(A, "ok")]}, "messages[0].content: empty"),
    ({"messages": [msg(U, "hi"), msg(A, "")]}, "messages[1].content: empty"),
    ({"messages": [msg(U, 42), msg(A, "ok")]}, "expected a string, got int"),
    ({"messages": [msg(U, None), msg(A, "ok")]}, "expected a string, got NoneType"),
    ({"messages": [{"content": "no role"}, msg(A, "ok")]}, "role: expected 'user', got None"),
    ({"messages": [None, msg(A, "ok")]}, "expected a message dict, got NoneType"),
]


@pytest.mark.parametrize("row,expected", BAD_SFT)
def test_bad_sft_row_raises_with_row_and_field(row, expected):
    with pytest.raises(DataError) as err:
        data.sft_rows([{"messages": GOOD}, row], "smoltalk", on_error="raise")
    assert "smoltalk row 1" in str(err.value) and expected in str(err.value)


def test_bad_sft_rows_are_counted_when_skipped():
    with_system = {"messages": [msg("system", "be nice"), msg(U, "And Spain?"), msg(A, "Madrid.")]}
    rows = [{"messages": GOOD}] + [r for r, _ in BAD_SFT] + [with_system, {"messages": GOOD}]
    kept, report = data.sft_rows(rows, "smoltalk")
    assert len(kept) == 2 and report.seen == len(rows) and report.kept == 2
    assert kept[1]["prompt"] == "be nice\n\nAnd Spain?"  # a leading system message is folded in, not an error
    assert sum(report.skipped.values()) == len(BAD_SFT) + 1 and report.skipped["duplicate prompt"] == 1
    assert f"{len(rows)} rows read, 2 kept" in str(report)


def test_mini_fixture_reports_its_three_bad_rows(mini_dir, tokenizer):
    rows, report = data.load_sft(str(mini_dir))
    assert report.seen == 23 and len(rows) == 21  # wrong first role, whitespace prompt
    prepared, counts = data.prepare_sft(rows, tokenizer, 255, 420, 75)
    assert counts["dropped: response < 75 chars"] == 1 and counts["rows out"] == 20
    pairs, pair_report = data.load_pairs(str(mini_dir))
    assert len(pairs) == 20 and pair_report.skipped["chosen == rejected"] == 1


def test_truncation_counts_and_fits_budget(tokenizer):
    rows = [{"prompt": "word " * 300, "response": "answer " * 500}, {"prompt": "short", "response": "x" * 80}]
    out, counts = data.prepare_sft(rows, tokenizer, max_prompt_tokens=20, max_response_tokens=30)
    assert counts["prompts truncated to 20 tokens"] == 1 and counts["responses truncated to 30 tokens"] == 1
    assert len(tokenizer(out[0]["prompt"], add_special_tokens=False)["input_ids"]) <= 20
    assert out[1] == rows[1]


def test_percentile_table(tokenizer):
    rows = [{"prompt": "a " * n, "response": "b " * (2 * n)} for n in range(1, 101)]
    table = data.percentile_table(rows, tokenizer)
    assert table["prompt"][50] < table["prompt"][95] <= table["prompt"][99]
    assert table["response"][95] > table["prompt"][95]


def test_invalid_utf8_and_json_name_file_and_line(tmp_path):
    path = tmp_path / "rows.jsonl"
    path.write_bytes(json.dumps({"messages": GOOD}).encode() + b"\n" + b'{"messages": "\xff\xfe"}\n')
    with pytest.raises(DataError, match=r"rows.jsonl, line 2: invalid UTF-8"):
        data.read_jsonl(path)
    path.write_text('{"a": 1}\n{"a": \n')
    with pytest.raises(DataError, match=r"line 2: invalid JSON"):
        data.read_jsonl(path)
    path.write_text("[1, 2]\n")
    with pytest.raises(DataError, match=r"line 1: expected a JSON object"):
        data.read_jsonl(path)
    with pytest.raises(FileNotFoundError, match="no such file"):
        data.read_jsonl(tmp_path / "missing.jsonl")


def test_unknown_source_is_explained():
    with pytest.raises(ValueError, match="source must be 'demo', 'hub'"):
        data.load_sft("no/such/place")


def test_bad_sizes_are_refused(tokenizer):
    with pytest.raises(ValueError, match="must be positive"):
        data.prepare_sft([], tokenizer, max_prompt_tokens=0)
    with pytest.raises(ValueError, match="eval_fraction"):
        data.train_eval_split([1, 2], eval_fraction=1.5)


def test_hub_sample_size_must_be_positive():
    with pytest.raises(ValueError, match="n must be positive or None, got 0"):
        data.hub_rows("HuggingFaceTB/smoltalk", "train", n=0)


def test_demo_and_jsonl_sources_keep_their_first_rows(mini_dir):
    """Only the hub path samples; the demo notebooks' checked outputs rely on the first ``limit`` rows."""
    rows, _ = data.load_sft(str(mini_dir), limit=5)
    everything, _ = data.load_sft(str(mini_dir))
    assert rows == everything[:5]


def test_a_system_message_that_carries_the_task_is_folded_into_the_prompt_and_counted():
    """smol-rewrite's shape: the instruction is the system message, the user turn only the e-mail to rewrite."""
    task = "You're an AI assistant for text re-writing. Rewrite the input text to make it more concise."
    rewrite = [msg("system", task), msg(U, "Hi Sam, I wanted to follow up on the budget."), msg(A, "Hi Sam, budget?")]
    persona = [msg("system", "You are a helpful assistant."), msg(U, "Capital of Peru?"), msg(A, "Lima.")]
    empty = [msg("system", "  "), msg(U, "Capital of Chile?"), msg(A, "Santiago.")]
    kept, report = data.sft_rows([{"messages": m} for m in (rewrite, persona, empty)], "smoltalk")
    assert kept[0]["prompt"] == task + "\n\nHi Sam, I wanted to follow up on the budget."
    assert [r["prompt"] for r in kept[1:]] == ["Capital of Peru?", "Capital of Chile?"]  # a default persona, nothing
    assert report.changed == {data.SYSTEM_FOLDED: 1} and report.kept == 3 and not report.skipped
    assert f"kept        1  {data.SYSTEM_FOLDED} (first at row 0)" in str(report)
    with pytest.raises(DataError, match=r"smoltalk row 0: messages\[0\].content: expected a string, got int"):
        data.sft_rows([{"messages": [{"role": "system", "content": 3}, *rewrite[1:]]}], "smoltalk", on_error="raise")
