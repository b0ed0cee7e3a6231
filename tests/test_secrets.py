"""The API key of judge="api" is used (sent as a Bearer token) but never written anywhere.

Here ``judges.make_judge("api", ...)`` as the notebooks call it, against the fake NVIDIA reward endpoint of
``tests/fake_openai_server.py``, with a response cache folder; the notebooks' side is the api run of
tests/test_rehearsal_colab.py.

The key lives only in an environment variable; afterwards it must not appear in any file under the
output folder (data, response caches, the API cache, models, figures, executed notebooks), in the
captured output or in the logs -- not even its random part alone.
"""

import logging
import secrets

import pytest
from fake_openai_server import CHAT_PATH, FakeRewardServer

from sfdpo_helpers import judges

KEY_ENV = "SFDPO_TEST_FAKE_NVIDIA_KEY"
KEY = f"nvapi-FAKE-{secrets.token_hex(16)}"
MODEL = "nvidia/llama-3.1-nemotron-70b-reward"


@pytest.fixture
def endpoint(monkeypatch):
    """The fake endpoint accepting only KEY, with KEY in $KEY_ENV (kernels started now inherit it)."""
    monkeypatch.setenv(KEY_ENV, KEY)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    with FakeRewardServer(key=KEY) as server:
        yield server


def _leaks(out, texts: dict) -> list[str]:
    """Where KEY (or its random part) shows up: files under ``out`` and the given texts."""
    needles = [KEY, KEY.split("-")[-1]]
    found = [
        str(p.relative_to(out))
        for p in out.rglob("*")
        if p.is_file() and any(n.encode() in p.read_bytes() for n in needles)
    ]
    return found + [name for name, text in texts.items() if any(n in text for n in needles)]


def _check_requests(endpoint, cache):
    log = endpoint.log
    assert log, "no request reached the endpoint"
    assert all(r["path"] == CHAT_PATH and r["status"] == 200 for r in log)
    assert all(r["authorised"] for r in log)  # every request carried "Bearer <key>"
    assert all(r["model"] == MODEL for r in log)
    assert cache.exists() and len(cache.read_text().splitlines()) == len(log)


def test_factory_api_judge_uses_the_key_and_writes_it_nowhere(tmp_path, endpoint, capfd, caplog):
    caplog.set_level(logging.DEBUG)
    out = tmp_path / "run"
    options = dict(api_base_url=endpoint.base_url, api_model=MODEL, api_key_env=KEY_ENV, cache_dir=out / "responses")
    judge = judges.make_judge("api", **options)
    print(judge)
    scores = judge.score(["Say hi.", "Say hi."], ["hi", "hello there"])
    assert scores == judges.make_judge("api", **options).score(["Say hi.", "Say hi."], ["hi", "hello there"])
    _check_requests(endpoint, out / "responses" / "api_judge_cache.jsonl")
    assert endpoint.requests == 2  # the second judge read the cache
    captured = capfd.readouterr()
    texts = {"output": captured.out + captured.err, "logs": caplog.text, "repr": repr(judge), "vars": str(vars(judge))}
    assert "ApiJudge(" in texts["output"]
    assert _leaks(out, texts) == []


# The notebooks' side (01→07 with the API judge, the key in Colab's Secrets, written nowhere) is the api run of
# tests/test_rehearsal_colab.py.
