"""ApiJudge on the openai client, against the fake OpenAI-compatible reward server on 127.0.0.1."""

import logging
import math
import sys
import time
import types

import pytest
from fake_openai_server import FakeRewardServer, fake_reward

from sfdpo_helpers.files import fingerprint
from sfdpo_helpers.judges import ApiJudge, MissingApiKeyError, parse_reward
from sfdpo_helpers.judges.api import read_api_key

KEY_ENV = "SFDPO_TEST_API_KEY"
SECRET = "nvapi-TEST-SECRET-0123456789abcdef"
MODEL = "nvidia/llama-3.1-nemotron-70b-reward"
PROMPTS = ["p1", "p2", "p3"]
RESPONSES = ["one two three", "word " * 40, "word " * 55]


@pytest.fixture
def key(monkeypatch):
    monkeypatch.setenv(KEY_ENV, SECRET)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    return SECRET


def _judge(server, tmp_path=None, **kwargs):
    options = dict(api_key_env=KEY_ENV, max_retries=3, requests_per_minute=None, timeout=10)
    if tmp_path is not None:
        options["cache_path"] = tmp_path / "cache.jsonl"
    options.update(kwargs)
    return ApiJudge(server.base_url, MODEL, **options)


def _expected(prompts=PROMPTS, responses=RESPONSES):
    return [pytest.approx(fake_reward(p, r), abs=1e-6) for p, r in zip(prompts, responses)]


def test_fake_server_reward_prefers_answers_near_40_words():
    assert fake_reward("p", "word " * 40) == 0.0
    assert fake_reward("p", "word " * 50) == pytest.approx(-1.0)
    assert fake_reward("p", "word " * 30) == pytest.approx(-1.0)


def test_scores_and_sends_the_key_as_bearer(key):
    with FakeRewardServer(key=key) as server:
        judge = _judge(server)
        assert judge.score(PROMPTS, RESPONSES) == _expected()
        assert server.requests == 3 and judge.n_requests == 3
        assert all(entry["authorised"] and entry["model"] == MODEL for entry in server.log)


@pytest.mark.parametrize("fault", [{"fail_429": 2}, {"fail_500": 2}, {"fail_429": 1, "fail_500": 1}])
def test_429_and_500_are_retried_by_the_client(key, fault):
    with FakeRewardServer(key=key, retry_after="0.01", **fault) as server:
        judge = _judge(server)
        assert judge.score(PROMPTS[:1], RESPONSES[:1]) == _expected(PROMPTS[:1], RESPONSES[:1])
        assert server.requests == 3  # two refused, then the answer
        assert [e["status"] for e in server.log][-1] == 200
        assert judge.n_requests == 1  # one completion asked for; the client retried on its own


def test_retry_after_zero_falls_back_to_backoff(key):
    with FakeRewardServer(key=key, fail_429=1) as server:  # Retry-After: 0, as the issue describes
        assert _judge(server).score(["p"], ["r"]) == _expected(["p"], ["r"])
        assert server.requests == 2


def test_retries_run_out_with_a_clear_error(key):
    with FakeRewardServer(key=key, fail_500=5, retry_after="0.01") as server:
        with pytest.raises(RuntimeError, match=r"HTTP 500 for model 'nvidia/llama-3.1-nemotron-70b-reward'"):
            _judge(server, max_retries=2).score(["p"], ["r"])
        assert server.requests == 3
    with FakeRewardServer(key=key, fail_429=5, retry_after="0.01") as server:
        with pytest.raises(RuntimeError, match=r"HTTP 429 \(rate limited\) after 1 retries; lower requests_per_minute"):
            _judge(server, max_retries=1).score(["p"], ["r"])
        assert server.requests == 2


def test_slow_answer_within_the_timeout_works(key):
    with FakeRewardServer(key=key, slow_seconds=0.5) as server:
        start = time.monotonic()
        assert _judge(server, timeout=5).score(["p"], ["r"]) == _expected(["p"], ["r"])
        assert time.monotonic() - start >= 0.5 and server.requests == 1


def test_timeout_shorter_than_the_answer_fails_clearly(key):
    with FakeRewardServer(key=key, slow_seconds=2.0) as server:
        with pytest.raises(RuntimeError, match=r"no answer within timeout=0.3 s .*tried 1 times"):
            _judge(server, timeout=0.3, max_retries=0).score(["p"], ["r"])
        assert server.requests == 1


def test_timed_out_request_is_retried(key):
    with FakeRewardServer(key=key, slow_seconds=2.0) as server:  # only the first request is slow
        assert _judge(server, timeout=0.3, max_retries=1).score(["p"], ["r"]) == _expected(["p"], ["r"])
        assert server.requests == 2


def test_wrong_key_is_refused_and_not_retried(key):
    with FakeRewardServer(key="another-key") as server:
        with pytest.raises(RuntimeError, match=rf"HTTP 401: the endpoint refused the key in \${KEY_ENV}"):
            _judge(server).score(["p"], ["r"])
        assert server.requests == 1 and not server.log[0]["authorised"]


def test_cache_avoids_repeat_requests_across_judges(key, tmp_path):
    with FakeRewardServer(key=key) as server:
        first = _judge(server, tmp_path)
        assert first.score(PROMPTS, RESPONSES) == _expected()
        assert server.requests == 3
        again = _judge(server, tmp_path)  # a rerun reads the cache file
        assert again.score(PROMPTS[::-1], RESPONSES[::-1]) == _expected()[::-1]
        assert server.requests == 3 and again.n_requests == 0
        mixed = _judge(server, tmp_path)  # one new pair, asked twice in one call: paid once
        assert mixed.score(["new", "p1", "new"], ["x", RESPONSES[0], "x"])[1] == _expected()[0]
        assert server.requests == 4
    lines = (tmp_path / "cache.jsonl").read_text().splitlines()
    assert len(lines) == 4
    assert first.cache_key("p1", RESPONSES[0]) == fingerprint(first.base_url, MODEL, "reward", "p1", RESPONSES[0])


def test_cached_rerun_needs_no_key(key, tmp_path, monkeypatch):
    with FakeRewardServer(key=key) as server:
        _judge(server, tmp_path).score(PROMPTS, RESPONSES)
        monkeypatch.delenv(KEY_ENV)
        assert _judge(server, tmp_path).score(PROMPTS, RESPONSES) == _expected()


def test_torn_last_cache_line_is_skipped_counted_and_not_glued(key, tmp_path):
    with FakeRewardServer(key=key) as server:
        _judge(server, tmp_path).score(PROMPTS[:1], RESPONSES[:1])
        with open(tmp_path / "cache.jsonl", "a") as handle:
            handle.write('{"key": "x", "rew')  # a crash in the middle of a write
        with pytest.warns(UserWarning, match="skipped 1 unreadable cache line"):
            judge = _judge(server, tmp_path)
        assert judge.cache_skipped == 1
        assert judge.score(PROMPTS[:2], RESPONSES[:2]) == _expected()[:2]
        assert server.requests == 2  # the first pair came from the cache
        with pytest.warns(UserWarning, match="skipped 1 unreadable"):  # the new record has its own line
            reread = _judge(server, tmp_path)
        assert reread.cache_skipped == 1 and reread.score(PROMPTS[:2], RESPONSES[:2]) == _expected()[:2]
        assert server.requests == 2


def test_missing_key_message_names_the_variable(monkeypatch):
    monkeypatch.delenv(KEY_ENV, raising=False)
    monkeypatch.delitem(sys.modules, "google.colab", raising=False)
    with FakeRewardServer() as server:
        with pytest.raises(MissingApiKeyError, match=rf"set the environment variable {KEY_ENV}.*Secrets panel"):
            _judge(server).score(["p"], ["r"])
        assert server.requests == 0


def _fake_colab(monkeypatch, get):
    colab = types.ModuleType("google.colab")
    colab.userdata = types.SimpleNamespace(get=get)
    monkeypatch.setitem(sys.modules, "google", types.ModuleType("google"))
    monkeypatch.setitem(sys.modules, "google.colab", colab)
    monkeypatch.setitem(sys.modules, "google.colab.userdata", colab.userdata)


def test_key_from_colab_secrets(monkeypatch):
    monkeypatch.delenv(KEY_ENV, raising=False)
    _fake_colab(monkeypatch, {KEY_ENV: SECRET}.__getitem__)
    with FakeRewardServer(key=SECRET) as server:
        assert _judge(server).score(["p"], ["r"]) == _expected(["p"], ["r"])
        assert server.log[0]["authorised"]


def test_missing_colab_secret_points_to_the_secrets_panel(monkeypatch):
    class SecretNotFoundError(Exception):
        pass

    def get(name):
        raise SecretNotFoundError(name)

    monkeypatch.delenv(KEY_ENV, raising=False)
    _fake_colab(monkeypatch, get)
    with pytest.raises(MissingApiKeyError, match=rf"Colab's secret {KEY_ENV} .*SecretNotFoundError.*Secrets panel"):
        read_api_key(KEY_ENV)


def test_key_is_never_stored_printed_logged_or_cached(key, tmp_path, capfd, caplog):
    caplog.set_level(logging.DEBUG)  # the openai and httpx loggers included
    with FakeRewardServer(key=key, fail_429=1, retry_after="0.01") as server:
        judge = _judge(server, tmp_path)
        print(judge, repr(judge), vars(judge))
        judge.score(PROMPTS, RESPONSES)
        with FakeRewardServer(key="wrong") as refusing:
            with pytest.raises(RuntimeError) as refused:
                _judge(refusing).score(["p"], ["r"])
    captured = capfd.readouterr()
    texts = {
        "cache": (tmp_path / "cache.jsonl").read_text(),
        "repr": repr(judge),
        "vars": str(vars(judge)) + str(vars(judge._cache)),
        "output": captured.out + captured.err,
        "logs": caplog.text,
        "error": str(refused.value),
    }
    assert "ApiJudge(" in texts["output"]  # the judge really was printed
    assert [name for name, text in texts.items() if SECRET in text or SECRET[-16:] in text] == []


def test_needs_base_url_and_model():
    with pytest.raises(ValueError, match=r"needs base_url and model .*integrate.api.nvidia.com"):
        ApiJudge("", MODEL)


def test_openai_missing_names_the_extra(monkeypatch, key):
    monkeypatch.setitem(sys.modules, "openai", None)  # import openai -> ImportError
    with FakeRewardServer(key=key) as server:
        with pytest.raises(ImportError, match=r"pip install 'sfdpo\[api\]'"):
            _judge(server).score(["p"], ["r"])


def test_rate_limiter_spaces_requests(key):
    with FakeRewardServer(key=key) as server:
        judge = _judge(server, requests_per_minute=600)
        start = time.monotonic()
        judge.score(["a", "b", "c"], ["1", "2", "3"])
        assert time.monotonic() - start >= 0.19  # three starts, 0.1 s apart


def test_server_stops_on_close():
    import socket

    server = FakeRewardServer().start()
    url = server.base_url
    port = int(url.rsplit(":", 1)[1].split("/")[0])
    socket.create_connection(("127.0.0.1", port), timeout=2).close()  # listening
    server.close()
    assert url.startswith("http://127.0.0.1:") and url.endswith("/v1")
    with pytest.raises(RuntimeError, match="not running"):
        _ = server.base_url
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=2)


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


# --- inputs the endpoint refuses: NVIDIA's reward model takes at most 4,096 tokens ---------------------------


def test_an_over_long_prompt_is_cut_to_the_limit_and_judged(key):
    """A 30,000-character UltraFeedback-style prompt (~7,500 tokens) would be refused; it is cut in its middle to
    the judge's budget, sent once and judged; the start and end of the prompt survive."""
    long_prompt = "START " + "context " * 3750 + " END?"
    with FakeRewardServer(key=key, max_input_tokens=4096) as server:
        judge = _judge(server)
        assert judge.score([long_prompt], [RESPONSES[1]]) == _expected([long_prompt], [RESPONSES[1]])
        assert server.requests == 1 and judge.n_truncated == 1 and not judge.skipped
        assert [e["status"] for e in server.log] == [200]


def test_still_too_long_is_cut_again_then_skipped_and_counted_never_a_crash(key, tmp_path):
    """The estimate of 3 characters a token can be wrong (code, other languages): a refusal as too long halves
    the budget and asks again; an input refused every time scores nan, is listed in skipped, is not cached, and
    the answers judged before and after it are kept."""
    long_prompt = "x" * 30_000
    with FakeRewardServer(key=key, max_input_tokens=1500) as server:  # a stricter endpoint than the estimate
        judge = _judge(server, tmp_path, chars_per_token=6.0)  # budget 24,192 chars, ~6,064 fake tokens
        with pytest.warns(UserWarning, match="refused an input, scored nan"):
            got = judge.score([PROMPTS[0], long_prompt, PROMPTS[1]], [RESPONSES[0], "fine", RESPONSES[1]])
        assert got[0] == _expected()[0] and got[2] == _expected()[1] and math.isnan(got[1])
        assert [e["status"] for e in server.log] == [200, 400, 400, 400, 200]  # cut twice, then given up
        assert len(judge.skipped) == 1 and "exceeds maximum allowed token size 1500" in judge.skipped[0]["reason"]
        assert judge.skipped[0]["prompt"] == long_prompt[:80]
    lines = (tmp_path / "cache.jsonl").read_text().splitlines()
    assert len(lines) == 2  # the two judged answers are kept; the refused one will be asked for again


def test_a_cut_that_fits_after_one_refusal_is_judged(key):
    with FakeRewardServer(key=key, max_input_tokens=3100) as server:
        judge = _judge(server, chars_per_token=6.0)  # the first cut (~6,000 fake tokens) is refused, the second fits
        assert not math.isnan(judge.score(["y" * 30_000], ["fine"])[0])
        assert [e["status"] for e in server.log] == [400, 200] and not judge.skipped


def test_another_refusal_of_one_input_is_skipped_at_once_and_the_run_goes_on(key):
    with FakeRewardServer(key=key, refuse_containing="FORBIDDEN") as server:
        judge = _judge(server)
        with pytest.warns(UserWarning, match="HTTP 400: Inference error"):
            got = judge.score(["ok", "a FORBIDDEN prompt", "ok too"], RESPONSES)
        assert math.isnan(got[1]) and got[0] == _expected()[0] and got[2] == _expected()[2]
        assert server.requests == 3  # not retried: the same input would be refused again
        assert judge.skipped == [{"prompt": "a FORBIDDEN prompt", "reason": "HTTP 400: Inference error"}]


def test_retries_run_out_midway_the_answers_already_judged_are_in_the_cache(key, tmp_path):
    with FakeRewardServer(key=key, retry_after="0.01") as server:  # one endpoint: the cache is keyed by it
        _judge(server, tmp_path).score(PROMPTS[:2], RESPONSES[:2])
        server.fail_500 = server.requests + 2  # the next two requests fail: the server is down for a while
        with pytest.raises(RuntimeError, match="HTTP 500"):
            _judge(server, tmp_path, max_retries=1).score(PROMPTS, RESPONSES)
        assert server.requests == 4  # only the third pair was asked for (twice)
        assert _judge(server, tmp_path).score(PROMPTS, RESPONSES) == _expected() and server.requests == 5


def test_fit_to_budget_keeps_start_and_end_of_the_prompt():
    from sfdpo_helpers.judges.api import CUT_MARK, fit_to_budget

    prompt, response = fit_to_budget("A" * 50 + "B" * 50, "r" * 10, 60)
    assert len(prompt) + len(response) <= 60 and response == "r" * 10
    assert prompt.startswith("A") and prompt.endswith("B") and CUT_MARK in prompt
    assert fit_to_budget("short", "answer", 60) == ("short", "answer")
    prompt, response = fit_to_budget("p" * 10, "r" * 100, 60)  # a huge answer is cut too, to half the budget
    assert len(prompt) + len(response) <= 60 and len(response) == 50
