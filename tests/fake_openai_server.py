"""A tiny OpenAI-compatible reward endpoint on 127.0.0.1 for offline tests and rehearsals.

It imitates NVIDIA's hosted Nemotron reward: ``POST /v1/chat/completions`` with
``messages=[user: prompt, assistant: response]`` answers message content
``"reward:<float>"`` and ``logprobs.content=[{"token": "reward", "logprob": <float>}]``.
The reward is deterministic and documented (:func:`fake_reward`): answers far
from 40 words lose, so judged win rates move in a predictable direction.

Faults, for testing clients (authorised requests use them up in this order):
the first ``fail_429`` answer 429, the next ``fail_500`` answer 500 (both with
``Retry-After: <retry_after>``: transient failures, the next try succeeds), the
next ``slow_requests`` sleep ``slow_seconds`` before answering. A missing or
wrong ``Authorization: Bearer <key>`` answers 401.

Refusals of one input, as NVIDIA's endpoint makes them (HTTP 400 with its
problem-details body, every time the same input is sent): with
``max_input_tokens``, an input of more tokens (:func:`fake_token_count`) answers
``{"type": "about:blank", "status": 400, "title": "Bad Request", "detail":
"Input length N exceeds maximum allowed token size M"}``; with
``refuse_containing``, a prompt containing that text answers the same shape
with ``"detail": "Inference error"``. Every request is counted (``server.requests``) and logged
(``server.log``: path, whether the key matched, the model, the status).

The server listens on 127.0.0.1 only, on a free port, in a daemon thread, and
stops on :meth:`FakeRewardServer.close` or at the end of a ``with`` block::

    with FakeRewardServer(key="test-key", fail_429=2, slow_seconds=0.5) as server:
        judge = ApiJudge(server.base_url, "nvidia/llama-3.1-nemotron-70b-reward", api_key_env=...)
        ...
        assert server.requests == 5
"""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

CHAT_PATH = "/v1/chat/completions"


def fake_token_count(prompt: str, response: str) -> int:
    """Tokens of an input as the fake counts them: one per 4 characters of prompt and response (about
    Llama 3's rate on English text), plus 16 for the chat template."""
    return -(-(len(prompt) + len(response)) // 4) + 16


def fake_reward(prompt: str, response: str) -> float:
    """``-abs(words - 40) / 10``: 40-word answers score 0, each word more or less costs 0.1."""
    return -abs(len(response.split()) - 40) / 10


class _Server(ThreadingHTTPServer):
    daemon_threads = True  # a handler still sleeping on a slow request does not hold up close()
    allow_reuse_address = False

    def handle_error(self, request, client_address):  # a client that timed out and hung up is not an error
        pass


class FakeRewardServer:
    """An OpenAI-compatible fake reward endpoint (see the module docstring)."""

    def __init__(
        self,
        key: str = "test-key",
        *,
        fail_429: int = 0,
        fail_500: int = 0,
        slow_seconds: float = 0.0,
        slow_requests: int | None = None,
        retry_after: str = "0",
        max_input_tokens: int | None = None,
        refuse_containing: str | None = None,
    ):
        self.key, self.retry_after = key, retry_after
        self.max_input_tokens, self.refuse_containing = max_input_tokens, refuse_containing
        self.fail_429, self.fail_500 = int(fail_429), int(fail_500)
        self.slow_seconds = float(slow_seconds)
        self.slow_requests = (1 if slow_seconds > 0 else 0) if slow_requests is None else int(slow_requests)
        self.requests = 0  # every request, refused or answered
        self.log: list[dict] = []
        self._authorised = 0
        self._lock = threading.Lock()
        self._httpd: _Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT/v1``, the value for ``base_url``/``api_base_url``."""
        if self._httpd is None:
            raise RuntimeError("the fake server is not running: call start() or use it in a with block")
        return f"http://127.0.0.1:{self._httpd.server_address[1]}/v1"

    def start(self) -> FakeRewardServer:
        if self._httpd is not None:
            return self
        self._httpd = _Server(("127.0.0.1", 0), _handler_for(self))
        self._thread = threading.Thread(target=self._httpd.serve_forever, name="fake-openai", daemon=True)
        self._thread.start()
        return self

    def close(self) -> None:
        """Stop serving and free the port (idempotent)."""
        if self._httpd is None:
            return
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)
        self._httpd = self._thread = None

    def __enter__(self) -> FakeRewardServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.close()

    def _plan(self, authorised: bool) -> tuple[int, float]:
        """(status, seconds to sleep) for the next request; counts it."""
        with self._lock:
            self.requests += 1
            if not authorised:
                return 401, 0.0
            self._authorised += 1
            n = self._authorised
        if n <= self.fail_429:
            return 429, 0.0
        if n <= self.fail_429 + self.fail_500:
            return 500, 0.0
        if n <= self.fail_429 + self.fail_500 + self.slow_requests:
            return 200, self.slow_seconds
        return 200, 0.0


def _pair(body: dict) -> tuple[str, str]:
    messages = body.get("messages") or []
    prompt = next((m.get("content", "") for m in messages if m.get("role") == "user"), "")
    response = messages[-1].get("content", "") if messages and messages[-1].get("role") == "assistant" else ""
    return prompt, response


def _refusal(server: FakeRewardServer, body: dict) -> dict | None:
    """NVIDIA's 400 body for an input it will never accept, else None."""
    prompt, response = _pair(body)
    tokens = fake_token_count(prompt, response)
    if server.max_input_tokens is not None and tokens > server.max_input_tokens:
        detail = f"Input length {tokens} exceeds maximum allowed token size {server.max_input_tokens}"
    elif server.refuse_containing and server.refuse_containing in prompt:
        detail = "Inference error"
    else:
        return None
    return {"type": "about:blank", "status": 400, "title": "Bad Request", "detail": detail}


def _answer(body: dict) -> dict:
    prompt, response = _pair(body)
    reward = round(fake_reward(prompt, response), 6)
    return {
        "id": "chatcmpl-fake",
        "object": "chat.completion",
        "created": 0,
        "model": body.get("model", ""),
        "choices": [
            {
                "index": 0,
                "finish_reason": "length",
                "message": {"role": "assistant", "content": f"reward:{reward}"},
                "logprobs": {"content": [{"token": "reward", "logprob": reward, "top_logprobs": []}]},
            }
        ],
        "usage": {"prompt_tokens": 0, "completion_tokens": 1, "total_tokens": 1},
    }


def _handler_for(server: FakeRewardServer):
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 (http.server's naming)
            body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"{}")
            authorised = self.headers.get("Authorization") == f"Bearer {server.key}"
            status, sleep = server._plan(authorised)
            if self.path != CHAT_PATH and status == 200:
                status = 404
            refusal = _refusal(server, body) if status == 200 else None
            if refusal is not None:
                status = 400
            server.log.append(
                {"path": self.path, "authorised": authorised, "model": body.get("model"), "status": status}
            )
            if sleep:
                time.sleep(sleep)
            if status == 200:
                self._send(200, _answer(body))
            elif refusal is not None:
                self._send(400, refusal)
            else:
                self._send(status, {"error": {"message": f"fake error {status}", "code": status}})

        def _send(self, status: int, payload: dict) -> None:
            data = json.dumps(payload).encode("utf-8")
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            if status in (429, 500):
                self.send_header("Retry-After", server.retry_after)
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args):  # quiet test output
            pass

    return Handler
