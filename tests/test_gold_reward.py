"""The gold reward reads the answer where it is stated: hand-written right and wrong answers per rule,
the adversarial answers that must score 0 on the task, the gate, and the components adding up."""

import itertools
import json

import pytest

from sfdpo_helpers.judges import gold
from sfdpo_helpers.judges.gold import GoldJudge, choice_task, facts_task, number_task, phrase_task, topic_task

AVERAGE = "Dev scored 84, 97, 66, and 81 on four tests. What is the average score?"
AVERAGE_REF = {"task": "number", "answer": {"answer": "82"}}
RATE = "A machine makes 5 labels per minute. How many labels does it make in 4 hours?"
RATE_REF = {"task": "number", "answer": {"answer": "1200"}}
RECT = "A garden is 12 metres long and 5 metres wide. What are its area and perimeter?"
RECT_REF = {"task": "number", "answer": {"area": "60", "perimeter": "34"}}
FILM = "A film starts at 13:20 and lasts 95 minutes. At what time does it end?"
FILM_REF = {"task": "number", "answer": {"answer": "14:55"}}
SLOWEST = "Ben is faster than Cara. Cara is faster than Zoe. Who is the slowest?"
SLOWEST_REF = {"task": "choice", "answer": "Zoe", "options": ["Ben", "Cara", "Zoe"], "cue": "slowest"}
OLDEST = "Leo is older than Uma. Uma is older than Sara. Who is the oldest?"
OLDEST_REF = {"task": "choice", "answer": "Leo", "options": ["Leo", "Uma", "Sara"], "cue": "oldest"}
PRIME = "Is 91 a prime number or a composite number?"
PRIME_REF = {
    "task": "choice", "answer": "composite", "options": ["prime", "composite"], "subject": "91",
    "aliases": {"composite": ["not a prime", "not prime"], "prime": ["not a composite", "not composite"]},
}  # fmt: skip
LEAP = "Is 1900 a leap year or a common year?"
LEAP_REF = {
    "task": "choice", "answer": "common year", "options": ["leap year", "common year"], "subject": "1900",
    "aliases": {"common year": ["not a leap year"], "leap year": ["not a common year"]},
}  # fmt: skip
REVIEW = 'Classify the sentiment of this review as positive, negative, or neutral: "The hotel was fine."'
REVIEW_REF = {
    "task": "choice", "answer": "neutral", "options": ["positive", "negative", "neutral"],
    "aliases": {"neutral": ["neither strongly positive nor strongly negative", "neither positive nor negative"]},
}  # fmt: skip
WEEKDAY = "If today is Monday, what day of the week will it be in 10 days?"
WEEKDAY_REF = {
    "task": "choice", "answer": "Thursday", "read": "last",
    "options": ["Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"],
}  # fmt: skip
CAPITAL = "What is the capital of Australia?"
CAPITAL_REF = {"task": "facts", "terms": [["Canberra"]], "need": 1, "wrong": ["Sydney", "Melbourne"]}
PHOTO = "Explain how photosynthesis works."
PHOTO_REF = {
    "task": "facts", "terms": [["chlorophyll"], ["sunlight", "light"], ["carbon dioxide"], ["glucose", "sugar"]],
    "need": 2, "wrong": ["hemoglobin"],
}  # fmt: skip
PHRASE = 'How do you say "good morning" in Spanish?'
PHRASE_REF = {"task": "phrase", "answer": "Buenos días", "options": ["Buenos días", "Buenas noches", "Gracias"]}
POEM = "Write a short poem about a rainy afternoon."
POEM_REF = {"task": "topic", "words": ["drops", "window", "puddles", "clouds", "grey", "umbrella"],
            "topic": ["rainy", "afternoon"], "need": 2}  # fmt: skip
AVA = "Ava scored 72, 61, 84, and 71 on four tests. What is the average score?"
AVA_REF = {"task": "number", "answer": {"answer": "72"}}


@pytest.mark.parametrize(
    "prompt, answer, ref, right",
    [
        (AVERAGE, "Adding gives 328. 328 divided by 4 is 82. The average score is 82.", AVERAGE_REF, 1),
        (AVERAGE, "The average score is 84.5.", AVERAGE_REF, 0),  # the study's SFT answer shape
        (AVERAGE, "84", AVERAGE_REF, 0),  # a number copied from the prompt is never credited
        (AVERAGE, "The average is 82. Dev scored 84, 97, 66, and 81.", AVERAGE_REF, 1),  # prompt numbers skipped
        (AVERAGE, "It could be 80, 82 or 85.", AVERAGE_REF, 0),  # the right number among distractors
        (AVERAGE, "The scores are 84, 97, 66, and 81. What is the average score?", AVERAGE_REF, 0),  # echo
        (RATE, "Four hours is 240 minutes. It makes 1200 labels in 4 hours.", RATE_REF, 1),  # last number is 4
        (RATE, "It makes 1,200 labels.", RATE_REF, 1),
        (RATE, "It makes 240 labels in 4 hours.", RATE_REF, 0),
        (
            RECT,
            "12 times 5 gives an area of 60 square metres. Two times 17 gives a perimeter of 34 metres.",
            RECT_REF,
            1,
        ),
        (RECT, "The area is 60 square metres and the perimeter is 17 metres.", RECT_REF, 0),
        (RECT, json.dumps({"area": 60, "perimeter": 34, "explanation": "Length times width."}), RECT_REF, 1),
        (FILM, "It ends at 14:55.", FILM_REF, 1),
        (FILM, "It ends at 2:55 pm.", FILM_REF, 1),
        (FILM, "It ends at 14:45.", FILM_REF, 0),
        # gold-2: a right value that is also a number of the prompt counts only as a result ("is 72")
        (AVA, "Ava scored 72, 61, 84, and 71 on four tests.", AVA_REF, 0),
        (AVA, "Adding them gives 288. The average score is 72.", AVA_REF, 1),
    ],
)
def test_number_rule(prompt, answer, ref, right):
    assert number_task(prompt, answer, ref)[0] == right


@pytest.mark.parametrize(
    "prompt, answer, ref, right",
    [
        (SLOWEST, "Ben is faster than Cara and Cara is faster than Zoe. Zoe is the slowest.", SLOWEST_REF, 1),
        (SLOWEST, "The answer is Ben.", SLOWEST_REF, 0),  # the study's SFT answer
        (SLOWEST, "Since Ben is faster than Cara and Cara is faster than Zoe, Zoe is the slowest.", SLOWEST_REF, 1),
        (SLOWEST, "The slowest could be Ben, Cara or Zoe.", SLOWEST_REF, 0),  # every candidate listed
        (SLOWEST, SLOWEST, SLOWEST_REF, 0),  # the prompt echoed
        (OLDEST, "<<my title>> Uma is the oldest.", OLDEST_REF, 0),  # a wrong answer with the right title
        (OLDEST, "<<Ages>> Leo is the oldest.", OLDEST_REF, 1),
        (PRIME, "91 is a composite number. It can be divided evenly by 7.", PRIME_REF, 1),
        (PRIME, "91 is not a prime number because 7 times 13 is 91.", PRIME_REF, 1),
        (PRIME, "91 is a prime number.", PRIME_REF, 0),
        (PRIME, "91 is prime. But 91 is also composite.", PRIME_REF, 0),  # prime ... composite in one answer
        (PRIME, "Prime or composite.", PRIME_REF, 0),
        (PRIME, "91 is composite. It is a prime number too.", PRIME_REF, 0),  # gold-2: "It" refers back to 91
        (PRIME, "91 is composite. A number with a divisor is composite.", PRIME_REF, 1),  # a definition, not 91
        (LEAP, "1900 is not a leap year. Century years are leap years only when divisible by 400.", LEAP_REF, 1),
        (LEAP, "1900 is a leap year because it is divisible by 4.", LEAP_REF, 0),
        (REVIEW, "The sentiment is neutral. It is neither strongly positive nor strongly negative.", REVIEW_REF, 1),
        (REVIEW, "The sentiment is positive.", REVIEW_REF, 0),
        (REVIEW, "It is positive, negative and neutral.", REVIEW_REF, 0),  # both (all) labels
        (WEEKDAY, "10 divided by 7 leaves 3. Counting 3 days from Monday gives Thursday.", WEEKDAY_REF, 1),
        (WEEKDAY, "In 10 days it will be Wednesday.", WEEKDAY_REF, 0),
    ],
)
def test_choice_rule(prompt, answer, ref, right):
    assert choice_task(prompt, answer, ref)[0] == right


@pytest.mark.parametrize(
    "prompt, answer, ref, right",
    [
        (
            CAPITAL,
            "The capital of Australia is Canberra. Many people guess Sydney because it is larger.",
            CAPITAL_REF,
            1,
        ),
        (CAPITAL, "The capital of Australia is Sydney.", CAPITAL_REF, 0),
        (CAPITAL, "The capital is Sydney. Canberra is another large city there.", CAPITAL_REF, 0),  # wrong beside right
        (CAPITAL, "Canberra, Sydney, Melbourne.", CAPITAL_REF, 0),  # a bare list of terms
        (CAPITAL, "Canberra.", CAPITAL_REF, 0),
        (PHOTO, "Plants use sunlight and chlorophyll to turn carbon dioxide into sugar.", PHOTO_REF, 1),
        (PHOTO, "Chlorophyll, sunlight, carbon dioxide, glucose.", PHOTO_REF, 0),  # bare list
        (PHOTO, "Photosynthesis is a process in plants that is very important.", PHOTO_REF, 0),
    ],
)
def test_facts_rule(prompt, answer, ref, right):
    assert facts_task(prompt, answer, ref)[0] == right


@pytest.mark.parametrize(
    "answer, right",
    [
        ('In Spanish you say "Buenos días" for good morning.', 1),
        ("You say buenos dias.", 1),  # accents and case ignored
        ("You say Buenas noches.", 0),
        ("It is Buenos días or Buenas noches.", 0),  # two candidates
        ('How do you say "good morning" in Spanish?', 0),
    ],
)
def test_phrase_rule(answer, right):
    assert phrase_task(PHRASE, answer, PHRASE_REF)[0] == right


@pytest.mark.parametrize(
    "answer, right",
    [
        ("Grey clouds hang low. Drops tap on the window glass. The puddles grow.", 1),
        ("A rainy afternoon. A short poem about a rainy afternoon.", 0),  # only the prompt's words
        ("The stock market rose today as investors bought shares.", 0),  # off topic
        ("The rainy afternoon was quiet. Grey light filled the room.", 1),  # gold-2: the title's words count
    ],
)
def test_topic_rule(answer, right):
    assert topic_task(POEM, answer, POEM_REF)[0] == right


ROWS = [
    {"prompt": OLDEST, "instruction_id_list": ["detectable_format:title"], "kwargs": [{}], "reference": OLDEST_REF},
    {"prompt": AVERAGE, "instruction_id_list": ["punctuation:no_comma"], "kwargs": [{}], "reference": AVERAGE_REF},
]


def test_the_components_add_up_to_the_score_and_the_breakdown_says_why():
    judge = GoldJudge(ROWS)
    b = judge.breakdown(OLDEST, "<<my title>> Uma is the oldest.")
    assert (b.task, b.instructions, b.form) == (0, 1.0, 1.0)
    assert b.score == pytest.approx(0.6 * 0 + 0.25 * 1.0 + 0.15 * 1.0)
    view = b.as_dict()
    assert view["checks"][0] == ("task: names Uma (right: Leo)", False)
    assert ("detectable_format:title", True) in view["checks"]
    assert judge.score([OLDEST], ["<<my title>> Uma is the oldest."]) == [pytest.approx(b.score)]


def test_task_gates_the_score_whatever_the_formats():
    judge = GoldJudge(ROWS)
    right = ["Leo is the oldest.", '"leo is the oldest. leo is the oldest. leo is the oldest. leo is the oldest."']
    wrong = ["<<Ages>> Uma is the oldest.", "<<Answer>> Sara is the oldest."]
    for r, w in itertools.product(right, wrong):
        assert judge.score([OLDEST], [r])[0] > judge.score([OLDEST], [w])[0], (r, w)
    assert gold.WEIGHTS["task"] > gold.WEIGHTS["instructions"] + gold.WEIGHTS["form"]


def test_form_penalties_loops_evasions_and_unasked_formats():
    row = ROWS[1]
    assert gold.form_penalties(row, "The average score is 82.") == {}
    assert "repetition loop" in gold.form_penalties(row, "The average is 82. " + "It is 82 in all. " * 4)
    assert "evasion" in gold.form_penalties(row, "I'm sorry, but I can't help with that request.")
    assert set(gold.form_penalties(row, '"the average score of the four tests is 82."')) == {
        "unasked quoted",
        "unasked lowercase",
    }
    b = GoldJudge(ROWS).breakdown(AVERAGE, '"the average score of the four tests is 82."')
    assert b.form == 0.0 and b.task == 1


def test_a_row_without_a_reference_is_an_error_naming_it():
    with pytest.raises(ValueError, match="row 1: field 'reference'"):
        GoldJudge([ROWS[0], {**ROWS[1], "reference": None}])
    with pytest.raises(ValueError, match="not among its options"):
        gold.check_reference({**SLOWEST_REF, "answer": "Max"})


def test_the_version_names_the_rules():
    assert GoldJudge(ROWS).version == gold.GOLD_VERSION


@pytest.mark.parametrize(
    "answer, n_tokens, cut",
    [
        ("The average score is 82. The scores range from 66 to", 96, True),  # ran into the cap mid-sentence
        ("The average score is 82. The scores range from 66 to 97.", 96, False),  # reached the cap, but finished
        ('{"average": 82}', 95, False),  # a closed JSON object
        ("The average score is 82 and the", 94, True),  # 94 tokens counts as the cap (re-encoding drift)
        ("The average score is 82 and the", 93, False),  # stopped by itself before the cap
        ("", 96, False),  # an empty answer is not "cut"
    ],
)
def test_cut_at_budget(answer, n_tokens, cut):
    assert gold.cut_at_budget(answer, n_tokens, 96) is cut


def test_the_cut_penalty_only_where_the_judge_is_told_the_budget():
    cut = "The average score is 82. The scores range from 66 to"
    words = lambda text: len(text.split())  # noqa: E731  (a token counter: one token per word)
    untold = GoldJudge(ROWS).breakdown(AVERAGE, cut)
    told = GoldJudge(ROWS, max_new_tokens=len(cut.split()), count_tokens=words).breakdown(AVERAGE, cut)
    assert untold.penalties == {} and told.penalties == {"cut at the budget": 0.5}
    assert told.task == untold.task == 1 and told.form == pytest.approx(0.5)
    assert told.score == pytest.approx(untold.score - 0.15 * 0.5)
    roomy = GoldJudge(ROWS, max_new_tokens=len(cut.split()) + 10, count_tokens=words)
    assert roomy.breakdown(AVERAGE, cut).penalties == {}  # it stopped below the budget: not cut
    with pytest.raises(ValueError, match="both max_new_tokens and count_tokens"):
        GoldJudge(ROWS, max_new_tokens=96)


def test_make_judge_tells_the_gold_judge_the_budget_with_the_policy_tokenizer():
    from sfdpo_helpers import judges, models

    tokenizer = models.load_tokenizer(models.TINY)
    judge = judges.make_judge("gold", ROWS, max_new_tokens=8, tokenizer=tokenizer)
    assert "budget 8 tokens" in repr(judge)
    long_cut = "The average score is 82 and every one of the four tests was taken on a"
    assert judge.breakdown(AVERAGE, long_cut).penalties == {"cut at the budget": 0.5}
    assert "no budget" in repr(judges.make_judge("gold", ROWS))
    with pytest.raises(ValueError, match="tokenizer="):
        judges.make_judge("gold", ROWS, max_new_tokens=8)


def test_a_reference_in_words_is_what_a_reader_labels_by():
    assert gold.reference_in_words(SLOWEST_REF) == "the right answer: Zoe (the options: Ben, Cara, Zoe)"
    assert gold.reference_in_words(RECT_REF) == "the right result: area = 60, perimeter = 34"
    assert gold.reference_in_words(PHRASE_REF) == "the right translation or meaning: Buenos días"
    assert "chlorophyll; sunlight / light" in gold.reference_in_words(PHOTO_REF)
    assert gold.reference_in_words(POEM_REF).startswith("right = on the task's topic")
