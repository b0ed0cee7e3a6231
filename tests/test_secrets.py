"""The API key of judge="api" is used (sent as a Bearer token) but never written anywhere.

Notebooks 01-03 run through papermill on the tiny model; notebook 03 judges with ``ApiJudge``
against a local fake of NVIDIA's OpenAI-compatible reward endpoint. The key lives only in an
environment variable; afterwards it must not appear in the executed notebooks, in any file under
out_dir (data, response caches, the API cache, models, figures) or in the captured output.
"""

import json
import secrets
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from sfdpo_helpers.main import run_notebooks

MINI = Path(__file__).parent / "fixtures" / "mini"
KEY_ENV = "SFDPO_TEST_FAKE_NVIDIA_KEY"


class FakeRewardEndpoint(BaseHTTPRequestHandler):
    """POST /v1/chat/completions answering like NVIDIA's hosted Nemotron reward."""

    requests: list = []

    def do_POST(self):  # noqa: N802 (http.server's naming)
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
        self.requests.append({"path": self.path, "authorization": self.headers.get("Authorization"), "body": body})
        if self.path != "/v1/chat/completions":
            self.send_error(404)
            return
        response = body["messages"][-1]["content"]
        reward = round(-10.0 + 0.25 * len(response), 3)
        answer = {
            "id": "fake",
            "object": "chat.completion",
            "model": body.get("model"),
            "choices": [
                {
                    "index": 0,
                    "finish_reason": "length",
                    "message": {"role": "assistant", "content": f"reward:{reward}"},
                    "logprobs": {"content": [{"token": "reward", "logprob": reward}]},
                }
            ],
        }
        data = json.dumps(answer).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):  # keep the test output quiet
        pass


@pytest.fixture
def endpoint():
    FakeRewardEndpoint.requests = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeRewardEndpoint)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/v1", FakeRewardEndpoint.requests
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.slow
def test_api_key_is_used_but_never_written(tmp_path, endpoint, monkeypatch, capfd, caplog):
    base_url, requests = endpoint
    key = f"nvapi-FAKE-{secrets.token_hex(16)}"
    # the kernel is a subprocess: it inherits os.environ (monkeypatch restores it afterwards)
    monkeypatch.setenv(KEY_ENV, key)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    caplog.set_level("INFO")
    out = tmp_path / "run"
    # 01 and 02 with the tiny parameters of test_notebooks.py; only 03 gets the api judge (02 has a
    # `judge` parameter of its own, for its training monitor)
    tiny = {
        "model": "tiny",
        "source": str(MINI),
        "max_steps": 2,
        "eval_every": 1,
        "save_every": 1,
        "max_train_rows": 16,
        "n_monitor_prompts": 2,
        "monitor_max_new_tokens": 8,
    }
    run_notebooks(out, tiny, only=["01", "02"], figures_dir=out / "figures")
    api = {
        "base_model": "tiny",
        "judge": "api",
        "api_base_url": base_url,
        "api_model": "nvidia/llama-3.1-nemotron-70b-reward",
        "api_key_env": KEY_ENV,
        "n_eval_prompts": 4,
        "max_new_tokens": 8,
        "n_self_judge": 0,
    }
    run_notebooks(out, api, only=["03"], figures_dir=out / "figures")
    captured = capfd.readouterr()

    # the key was really used: every request carried it as a Bearer token
    assert requests, "notebook 03 sent no request to the endpoint"
    assert all(r["path"] == "/v1/chat/completions" for r in requests)
    assert all(r["authorization"] == f"Bearer {key}" for r in requests)
    assert all(r["body"]["model"] == "nvidia/llama-3.1-nemotron-70b-reward" for r in requests)
    cache = out / "responses" / "api_judge_cache.jsonl"
    assert cache.exists() and len(cache.read_text().splitlines()) == len(requests)
    assert (out / "figures" / "03_win_rates.csv").exists()

    # ... and written nowhere
    files = [p for p in out.rglob("*") if p.is_file()]
    executed = out / "executed" / "03_judging.ipynb"
    assert executed in files
    assert KEY_ENV in executed.read_text()  # the variable's name is a parameter, its value is not
    needle = key.encode()
    leaks = [str(p.relative_to(out)) for p in files if needle in p.read_bytes()]
    assert not leaks, f"the API key was written to {leaks}"
    assert key not in captured.out and key not in captured.err
    assert key not in caplog.text
    # also not in a shortened form (e.g. the random part alone)
    secret_part = key.split("-")[-1]
    assert not [p for p in files if secret_part.encode() in p.read_bytes()]
    assert secret_part not in captured.out + captured.err + caplog.text
