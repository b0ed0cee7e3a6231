"""The answer explorer: whole answers in the HTML views, filters, every widget callback, the static first
view, and the answers table's CSV round trip. No frontend and no torch: this file also runs on ipywidgets 7.7.1
(`make test-widgets7`)."""

import html
import sys

import pytest

from sfdpo_helpers import explorer

NAMES = ("sft", "dpo")
LONG = ("The budget has three parts. " * 8) + "Adding them up, the total is 4,500 dollars in all, as asked."
BREAKDOWN = {
    "score": 0.85,
    "components": {"task": 1.0, "instructions": 0.5, "form": 1.0},
    "checks": [
        ["task: states 4500 (right: 4500)", True],
        ["punctuation:no_comma", False],
        ["form: unasked quote", False],
    ],
}


def comparison_row(**changes):
    row = {"prompt": "What is the total budget?", "category": "math", "answer_a": LONG, "answer_b": "About 4500."}
    row.update(score_a=0.85, score_b=0.3, breakdown_a=BREAKDOWN)
    row.update(changes)
    return row


def five_rows():
    """Outcomes A wins, tie, B wins, A wins, B wins; categories math, math, writing, writing, code."""
    scores = [(0.9, 0.2), (0.5, 0.5), (0.1, 0.8), (0.7, 0.6), (0.0, 1.0)]
    categories = ["math", "math", "writing", "writing", "code"]
    return explorer.comparison_rows(
        [f"prompt {i}" for i in range(5)],
        categories,
        [f"alpha answer {i}." for i in range(5)],
        [f"beta answer {i}." for i in range(5)],
        [a for a, _ in scores],
        [b for _, b in scores],
    )


def view(row):
    return explorer.comparison_html(row, NAMES)


def test_comparison_shows_both_full_answers_scores_words_and_outcome():
    out = explorer.comparison_html(comparison_row(), NAMES)
    assert len(LONG) > 250 and LONG.index(",") > 200
    assert LONG in out and "4,500 dollars in all, as asked." in out
    assert "About 4500." in out
    assert "Outcome: A wins (sft)" in out and "scores 0.850 vs 0.300" in out
    assert f"{len(LONG.split())} words" in out and "2 words" in out
    assert "category: math" in out and "A: sft" in out and "B: dpo" in out
    assert "white-space:pre-wrap" in out


def test_comparison_breakdown_components_and_check_marks():
    out = explorer.comparison_html(comparison_row(), NAMES)
    for component in ("task", "instructions", "form"):
        assert f">{component}</td>" in out
    assert "0.500" in out
    assert "✓ task: states 4500 (right: 4500)" in out
    assert "✗ punctuation:no_comma" in out and "✗ form: unasked quote" in out
    assert "✓" not in explorer.comparison_html(comparison_row(breakdown_a=None), NAMES)


def test_comparison_outcome_tie_margin_and_b_wins():
    assert "Outcome: tie" in explorer.comparison_html(comparison_row(score_b=0.85), NAMES)
    assert "Outcome: B wins (dpo)" in explorer.comparison_html(comparison_row(score_b=0.9), NAMES)
    assert "Outcome: tie" in explorer.comparison_html(comparison_row(score_b=0.9), NAMES, tie_margin=0.1)
    assert "Outcome: no score" in explorer.comparison_html(comparison_row(score_b=None), NAMES)


def test_model_text_is_escaped():
    attack = "<script>alert('x')</script> & <b>bold</b>"
    out = explorer.comparison_html(comparison_row(answer_b=attack, prompt=attack), ("<i>a</i>", "b"))
    assert "<script>" not in out and "<b>bold" not in out and "<i>a</i>" not in out
    assert html.escape(attack) in out
    assert "&lt;script&gt;" in explorer.samples_html(attack, [{"response": attack, "score": 1.0}])
    assert "<script>" not in explorer.pairs_html({"prompt": attack, "chosen": attack, "rejected": attack})


def test_samples_in_the_order_given_with_roles_and_full_responses():
    samples = [
        {"temperature": 0.7, "score": 0.2, "role": "rejected", "response": "second best"},
        {"temperature": 1.0, "score": 0.9, "role": "chosen", "response": LONG, "breakdown": BREAKDOWN},
        {"temperature": 1.0, "score": 0.5, "role": "", "response": "plain"},
    ]
    out = explorer.samples_html("Plan a budget", samples)
    assert out.index("second best") < out.index(LONG) < out.index("plain")
    assert "<b>chosen</b>" in out and "<b>rejected</b>" in out and "0.700" in out
    assert "✓ task: states 4500" in out and "Plan a budget" in out


def test_pair_with_kind_delta_and_rewards_before_and_after():
    pair = {"prompt": "Say hi", "chosen": "Hi, there.", "rejected": LONG, "kind": "unasked quote", "delta": 0.45}
    pair.update(reward_before={"chosen": 0.0, "rejected": 0.0, "margin": 0.0})
    pair["reward_after"] = {"chosen": 1.25, "rejected": -0.5, "margin": 1.75}
    out = explorer.pairs_html(pair)
    assert "Hi, there." in out and LONG in out
    assert "rejected kind: <b>unasked quote</b>" in out and "judge score difference: <b>0.450</b>" in out
    assert "DPO implicit rewards" in out and "1.750" in out and "-0.500" in out
    bare = explorer.pairs_html({"prompt": "Say hi", "chosen": "Hi.", "rejected": "No."})
    assert "DPO implicit rewards" not in bare and "rejected kind" not in bare


def test_filter_rows_by_outcome_and_category():
    rows = five_rows()
    assert explorer.filter_rows(rows) == [0, 1, 2, 3, 4]
    assert explorer.filter_rows(rows, "A wins") == [0, 3]
    assert explorer.filter_rows(rows, "ties") == [1]
    assert explorer.filter_rows(rows, "B wins") == [2, 4]
    assert explorer.filter_rows(rows, category="writing") == [2, 3]
    assert explorer.filter_rows(rows, "B wins", "writing") == [2]
    assert explorer.filter_rows(rows, "ties", "code") == []
    assert explorer.filter_rows(rows, "ties", tie_margin=0.15) == [1, 3]
    with pytest.raises(ValueError, match="outcome must be one of"):
        explorer.filter_rows(rows, "draws")


def test_explorer_selection_previous_and_next():
    ex = explorer.Explorer(five_rows(), view, title="SFT against DPO")
    assert "alpha answer 0." in ex.html.value and "beta answer 0." in ex.html.value
    assert [label for label, _ in ex.select.options][:2] == ["0: prompt 0", "1: prompt 1"]
    ex.on_next()
    assert ex.select.value == 1 and "alpha answer 1." in ex.html.value
    ex.next.click()  # the button's own handler, as a click in the browser would call it
    assert "alpha answer 2." in ex.html.value
    ex.on_previous()
    ex.previous.click()
    assert "alpha answer 0." in ex.html.value
    ex.on_previous()  # wraps round to the last row
    assert "beta answer 4." in ex.html.value
    ex.select.value = 3  # the dropdown's observer calls on_select
    assert "alpha answer 3." in ex.html.value
    ex.on_select({"new": 3})
    assert "alpha answer 3." in ex.html.value


def test_explorer_filters_and_the_no_match_message():
    ex = explorer.Explorer(five_rows(), view)
    assert list(ex.category.options) == ["all", "code", "math", "writing"]
    ex.outcome.value = "B wins"  # the observer calls on_outcome
    assert [value for _, value in ex.select.options] == [2, 4] and "beta answer 2." in ex.html.value
    ex.on_next()
    assert "beta answer 4." in ex.html.value
    ex.category.value = "writing"  # row 4 no longer matches: the first match is shown
    assert "alpha answer 2." in ex.html.value
    ex.on_category()
    assert "alpha answer 2." in ex.html.value
    ex.outcome.value = "ties"
    assert explorer.NO_MATCH in ex.html.value and ex.select.value is None
    ex.on_next()
    ex.on_previous()
    ex.on_select()
    assert explorer.NO_MATCH in ex.html.value
    ex.category.value = "all"  # back from an empty list: ipywidgets 8 would select nothing by itself
    assert ex.select.value == 1 and "alpha answer 1." in ex.html.value
    ex.outcome.value = "A wins"
    ex.on_outcome()
    assert ex.select.value == 0 and "alpha answer 0." in ex.html.value


def test_explorer_over_pairs_has_no_filters_and_shows_view_errors():
    pairs = [{"prompt": f"p{i}", "chosen": f"good {i}", "rejected": f"bad {i}"} for i in range(3)]
    ex = explorer.Explorer(pairs, explorer.pairs_html)
    assert not ex.comparison and not hasattr(ex, "outcome")
    ex.on_next()
    assert "good 1" in ex.html.value and "bad 1" in ex.html.value

    def broken(row):
        raise KeyError("answer_c")

    ex = explorer.Explorer(pairs, broken)  # a callback shows the error where the reader looks
    assert "view(row) failed" in ex.html.value and "KeyError" in ex.html.value


def capture_display(monkeypatch):
    import IPython.display

    shown = []
    monkeypatch.setattr(IPython.display, "display", lambda *objects, **kw: shown.extend(objects))
    return shown


def test_show_writes_the_static_first_view_before_the_widget(monkeypatch):
    import IPython.display

    shown = capture_display(monkeypatch)
    ex = explorer.show(five_rows(), view, title="SFT against DPO")
    assert isinstance(shown[0], IPython.display.HTML)
    assert "alpha answer 0." in shown[0].data and "SFT against DPO" in shown[0].data
    assert "The first of 5 rows" in shown[0].data
    assert shown[1] is ex.widget and len(shown) == 2
    assert "alpha answer 0." in ex.html.value


def test_show_without_ipywidgets_gives_the_static_view_and_a_note(monkeypatch):
    shown = capture_display(monkeypatch)
    monkeypatch.setitem(sys.modules, "ipywidgets", None)  # import ipywidgets now raises ImportError
    assert explorer.show(five_rows(), view) is None
    assert "alpha answer 0." in shown[0].data and "ipywidgets is not installed" in shown[1].data
    assert len(shown) == 2


def test_comparison_rows_checks_lengths():
    rows = explorer.comparison_rows(["p"], None, ["a"], ["b"], [1.0], [0.0], breakdowns_a=[BREAKDOWN])
    assert rows == [
        {"prompt": "p", "category": "", "answer_a": "a", "answer_b": "b", "score_a": 1.0, "score_b": 0.0}
        | {"breakdown_a": BREAKDOWN}
    ]
    with pytest.raises(ValueError, match="one entry per prompt"):
        explorer.comparison_rows(["p", "q"], None, ["a"], ["b", "c"], [1.0, 0.0], [0.0, 1.0])


def test_answers_table_columns_and_csv_round_trip(tmp_path):
    names = ("sft", "sft_dpo")  # one name is a prefix of the other: components still go to the right model
    odd = ['He said "no", then left.\nNew line, comma.', "", "NaN", "None", "=1+1", "<b>x</b>"]
    b_breakdown = {"score": 0.4, "components": {"task": 0.0, "form": 0.8}, "checks": [["x", False]]}
    rows = explorer.comparison_rows(
        ["Q1, with comma", "Q2", "Q3"],
        ["math", "writing", ""],
        [LONG, odd[0], odd[1]],
        [odd[2], odd[3], odd[4] + odd[5]],
        [0.85, 0.5, 0.1],
        [0.4, 0.5, 0.7],
        breakdowns_a=[BREAKDOWN, None, BREAKDOWN],
        breakdowns_b=[b_breakdown, None, None],
    )
    table = explorer.answers_table(rows, names)
    assert list(table.columns) == [
        *["prompt", "category", "answer_sft", "answer_sft_dpo", "score_sft", "score_sft_dpo", "outcome"],
        *["sft_task", "sft_instructions", "sft_form", "sft_dpo_task", "sft_dpo_form"],
    ]
    assert list(table["outcome"]) == ["A wins", "tie", "B wins"]

    path = explorer.write_answers_table(rows, names, tmp_path / "answers.csv")
    assert path == tmp_path / "answers.csv" and sorted(p.name for p in tmp_path.iterdir()) == ["answers.csv"]
    back = explorer.read_answers_table(path, names)

    def without_checks(row):
        row = dict(row)
        for side in "ab":
            if f"breakdown_{side}" in row:
                row[f"breakdown_{side}"] = {k: v for k, v in row[f"breakdown_{side}"].items() if k != "checks"}
                row[f"breakdown_{side}"]["score"] = row[f"score_{side}"]
        return row

    assert back == [without_checks(row) for row in rows]
    assert back[0]["answer_a"] == LONG and back[1]["answer_a"] == odd[0] and back[0]["answer_b"] == "NaN"
