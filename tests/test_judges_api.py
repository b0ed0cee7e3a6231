"""ApiJudge on the openai client, against the fake OpenAI-compatible reward server on 127.0.0.1."""

import logging
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
