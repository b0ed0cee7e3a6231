"""Unrequested formats: an answer that quotes, emits JSON or writes all lowercase counts only when its prompt
did not ask for it, and each share is taken among the prompts that did not ask."""

import math

import pytest

from sfdpo_helpers.formats import (
    answer_formats,
    requested_formats,
    unrequested_format_shares,
    unrequested_formats,
)


def row(*ids):
    return {"prompt": "p", "instruction_id_list": list(ids), "kwargs": [{} for _ in ids]}


PLAIN = row("punctuation:no_comma")
LOWERCASE_SENTENCE = "the water cycle moves water between the sea and the sky."


@pytest.mark.parametrize(
    "answer",
    ['"The sea is salty."', '  \n"The sea is salty."', "“The sea is salty.”", "”Odd but a quote.", '"yes"'],
)
def test_an_answer_opening_with_a_straight_or_curly_double_quote_is_quoted(answer):
    assert "quoted" in answer_formats(answer)


@pytest.mark.parametrize("answer", ["The sea is 'salty'.", 'He said "yes".', "'Single quotes'", "", "   "])
def test_a_quote_inside_or_a_single_quote_is_not_quoted(answer):
    assert "quoted" not in answer_formats(answer)


@pytest.mark.parametrize(
    "answer",
    [
        '{"city": "Paris"}',
        "  [1, 2, 3]\n",
        '```json\n{"city": "Paris"}\n```',
        '```JSON\n[{"a": 1}]\n```',
        '```\n{"city": "Paris"}\n```',
    ],
)
def test_an_answer_that_is_a_json_object_or_array_bare_or_fenced_is_json(answer):
    assert "json" in answer_formats(answer)


@pytest.mark.parametrize(
    "answer",
    [
        'Here it is: {"city": "Paris"}',
        '{"city": "Paris"} Hope this helps.',
        '"just a JSON string"',
        "42",
        "```python\nprint(1)\n```",
        "{not json}",
    ],
)
def test_json_with_text_around_it_or_a_bare_scalar_is_not_json(answer):
    assert "json" not in answer_formats(answer)


def test_lowercase_needs_enough_cased_letters_and_no_uppercase_letter():
    assert "lowercase" in answer_formats(LOWERCASE_SENTENCE)
    assert "lowercase" in answer_formats("photosynthesis")  # one long word: 14 cased letters
    assert "lowercase" not in answer_formats("yes")  # a one-word answer too short to show a habit
    assert "lowercase" not in answer_formats("Yes")
    assert "lowercase" not in answer_formats(LOWERCASE_SENTENCE.replace("sky", "Sky"))
    assert "lowercase" not in answer_formats("12345 67890 !!!")
    assert "lowercase" not in answer_formats("जल चक्र समुद्र और आकाश के बीच पानी ले जाता है")  # no case at all
    assert answer_formats("ÉTÉ À PARIS") == set() and "lowercase" in answer_formats("été à paris, où il fait beau")


def test_a_format_the_prompt_asks_for_is_not_unrequested():
    quoted, lowercase = f'"{LOWERCASE_SENTENCE}"', LOWERCASE_SENTENCE
    assert unrequested_formats(PLAIN, quoted) == {"quoted", "lowercase"}
    assert unrequested_formats(row("startend:quotation"), quoted) == {"lowercase"}
    assert unrequested_formats(row("change_case:english_lowercase", "startend:quotation"), quoted) == set()
    assert unrequested_formats(row("detectable_format:json_format"), '{"a": 1}') == set()
    assert unrequested_formats(PLAIN, '{"a": 1}') == {"json"}
    assert unrequested_formats(row("change_case:english_lowercase"), lowercase) == set()


def test_capitals_titles_and_capital_word_counts_do_not_ask_for_these_formats():
    for iid in ("change_case:english_capital", "change_case:capital_word_frequency", "detectable_format:title"):
        assert requested_formats(row(iid)) == set()
    assert unrequested_formats(row("change_case:english_capital"), LOWERCASE_SENTENCE) == {"lowercase"}
    assert unrequested_formats(row("detectable_format:title"), f"<<the sea>> {LOWERCASE_SENTENCE}") == {"lowercase"}


def test_a_row_without_an_instruction_list_is_named_in_the_error():
    with pytest.raises(ValueError, match=r"row 1: field 'instruction_id_list'"):
        unrequested_format_shares([PLAIN, {"prompt": "p"}], ["a", "b"])
    with pytest.raises(ValueError, match="2 rows but 1 answers"):
        unrequested_format_shares([PLAIN, PLAIN], ["a"])


def test_each_share_is_taken_among_the_rows_that_do_not_ask_for_that_format():
    rows = [
        row("startend:quotation"),  # asks for quotes
        row("startend:quotation"),
        row("detectable_format:json_format"),  # asks for JSON
        PLAIN,
        PLAIN,
    ]
    answers = [
        f'"{LOWERCASE_SENTENCE}"',  # requested quote, unrequested lowercase
        '"A quoted answer."',  # requested quote
        '"A quote instead of JSON."',  # unrequested quote
        '{"a": 1}',  # unrequested JSON
        "A plain answer.",
    ]
    shares = unrequested_format_shares(rows, answers)
    assert shares["n"] == 5
    assert shares["unasked"] == {"quoted": 3, "json": 4, "lowercase": 5, "any": 2}
    assert shares["quoted"] == pytest.approx(1 / 3)
    assert shares["json"] == pytest.approx(1 / 4)
    assert shares["lowercase"] == pytest.approx(1 / 5)
    assert shares["any"] == pytest.approx(1 / 2)  # of the two plain rows, one answered in JSON


def test_a_format_every_row_asks_for_has_no_share():
    shares = unrequested_format_shares([row("startend:quotation")], ['"Yes."'])
    assert math.isnan(shares["quoted"]) and math.isnan(shares["any"])
    assert shares["unasked"] == {"quoted": 0, "json": 1, "lowercase": 1, "any": 0} and shares["json"] == 0.0


def test_the_gold_form_penalty_counts_each_unasked_format_and_never_an_asked_one():
    from sfdpo_helpers.judges.gold import PENALTIES, form_penalties

    no_commas = {"prompt": "no commas", "instruction_id_list": ["punctuation:no_comma"], "kwargs": [{}]}
    quote_it = {"prompt": "quote it", "instruction_id_list": ["startend:quotation"], "kwargs": [{}]}
    cases = [
        (no_commas, '"The sea is salty."'),
        (no_commas, "The sea is salty."),
        (no_commas, f'"{LOWERCASE_SENTENCE}"'),
        (quote_it, '"The sea is salty."'),
        (quote_it, "Salty."),
    ]
    # by hand: 0.5 per unasked format of the answer (quoted, lowercase), none for the quote "quote it" asks for
    expected = [PENALTIES["unasked quoted"], 0, PENALTIES["unasked quoted"] + PENALTIES["unasked lowercase"], 0, 0]
    assert [sum(form_penalties(row, answer).values()) for row, answer in cases] == expected
