"""Reward from an OpenAI-compatible endpoint (NVIDIA's hosted Nemotron reward), via the ``openai`` client.

Why the ``openai`` client: it already retries 429, 5xx, timeouts and connection
errors with exponential back-off and honours ``Retry-After``; the urllib
version re-implemented all of that and had to be tested for it. What stays
here is what the client does not do:

* a JSON-lines reward cache keyed by ``files.fingerprint(base_url, model,
  reward_key, prompt, response)`` (another endpoint, model or reward field
  never answers from it), so a rerun (or a second notebook) does not pay twice. It is
  append-only with one ``write`` per record, so a crash can at worst leave a
  torn last line, which is skipped and counted when the file is read again;
* a requests-per-minute limiter: free NVIDIA keys are rate limited, and spacing
  the requests avoids most 429s instead of retrying them;
* the key: read from the environment variable ``api_key_env`` (in Colab, from
  the Secrets panel) only when a request is needed. The client that holds it
  lives for one :meth:`ApiJudge.score` call and is closed after it, so the key
  is never an attribute of the judge and never reaches its repr, the cache,
  the logs or the notebook output;
* :func:`parse_reward` for NVIDIA's answer format (``"reward:-12.5"``);
* inputs that fit: NVIDIA's hosted reward model refuses inputs over 4,096 tokens (HTTP 400 "Input length N
  exceeds maximum allowed token size 4096"), and UltraFeedback's prompts are not length-limited. Without the
  endpoint's tokenizer the length is estimated from characters (:func:`fit_to_budget`: the prompt is cut in
  its middle, its start and end kept); an input refused as too long all the same is cut to half and sent
  again, twice at most;
* one refused input is not the end of a run: an input the endpoint refuses (HTTP 400/413/422: too long
  after the cuts, or any other refusal of that input) scores ``nan`` and is listed in :attr:`ApiJudge.skipped`;
  :func:`sfdpo_helpers.winrate.win_rate` leaves such prompts out and counts them. Errors that would hit
  every request (a wrong key, retries used up on 429/5xx, timeouts, no connection) still stop the call, with
  every reward received so far already in the cache.

``openai`` is an optional dependency (``pip install 'sfdpo[api]'``), imported
only when a request is sent.
"""

from __future__ import annotations

import json
import math
import os
import re
import sys
import threading
import time
import warnings
from collections.abc import Mapping, Sequence

from ..files import fingerprint
from ._common import check_lengths

NVIDIA_BASE_URL = "https://integrate.api.nvidia.com/v1"
NVIDIA_REWARD_MODEL = "nvidia/llama-3.1-nemotron-70b-reward"
NVIDIA_MAX_INPUT_TOKENS = 4096  # the hosted reward model's limit on prompt + response
CHARS_PER_TOKEN = 3.0  # a cautious estimate for Llama 3's tokenizer (English text is about 4 characters a token)
TEMPLATE_TOKENS = 64  # room left for the chat template's tokens
CUT_MARK = "\n[...]\n"
_REFUSED_INPUT = (400, 413, 422)  # statuses that refuse this input (retrying the same input cannot help)
_TOO_LONG = re.compile(r"exceeds maximum|too long|maximum context length|maximum allowed token", re.IGNORECASE)

_NUMBER = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"


class MissingApiKeyError(RuntimeError):
    """No API key in the environment variable (nor in Colab's secrets)."""


def parse_reward(payload: Mapping, reward_key: str = "reward") -> float:
    """Read the reward out of a chat-completion answer of a reward endpoint.

    NVIDIA's hosted Nemotron reward answers with message content such as
    ``"reward:-12.5"`` (HelpSteer models: ``"helpfulness:1.2,correctness:..."``)
    and repeats it in ``logprobs.content`` as ``{"token": "reward", "logprob":
    -12.5}``. Tried in that order, then a bare number as content.
    """
    try:
        choice = payload["choices"][0]
    except (KeyError, IndexError, TypeError) as exc:
        raise ValueError(f"no choices in the endpoint's answer: {str(payload)[:200]}") from exc
    content = str((choice.get("message") or {}).get("content") or "")
    pairs = re.findall(rf"([A-Za-z_][\w\- ]*?)\s*:\s*({_NUMBER})", content)
    values = {key.strip().lower(): float(value) for key, value in pairs}
    if reward_key.lower() in values:
        return values[reward_key.lower()]
    for item in (choice.get("logprobs") or {}).get("content") or []:
        if str(item.get("token", "")).strip().lower() == reward_key.lower():
            return float(item["logprob"])
    if re.fullmatch(_NUMBER, content.strip()):
        return float(content.strip())
    raise ValueError(f"no {reward_key!r} in the endpoint's answer: content={content[:200]!r}")


def fit_to_budget(prompt: str, response: str, max_chars: int) -> tuple[str, str]:
    """(prompt, response) of at most ``max_chars`` characters together. The response is what is judged, so the
    prompt is cut first: its middle is replaced by :data:`CUT_MARK`, keeping the start (the task) and the end (the
    question, often last); a response longer than half the budget is itself cut at its end."""
    if len(prompt) + len(response) <= max_chars:
        return prompt, response
    response = response[: max(max_chars // 2, max_chars - len(prompt))]
    room = max(0, max_chars - len(response) - len(CUT_MARK))
    if len(prompt) > room:
        head = room - room // 3
        prompt = prompt[:head] + CUT_MARK + prompt[len(prompt) - (room - head) :] if room else ""
    return prompt, response


def read_api_key(env_name: str) -> str:
    """The API key from ``$env_name``, else (in Colab) from the Colab secret of that name.

    The value is returned to the caller only; nothing here prints or stores it.
    """
    key = os.environ.get(env_name, "").strip()
    if key:
        return key
    if "google.colab" in sys.modules:
        return _colab_secret(env_name)
    raise MissingApiKeyError(
        f"no API key: set the environment variable {env_name} to your key before starting Python/Jupyter "
        f"(in Colab: add a secret named {env_name} in the Secrets panel, the key icon in the left sidebar)"
    )


def _colab_secret(env_name: str) -> str:
    try:
        from google.colab import userdata

        key = userdata.get(env_name)
    except Exception as exc:  # SecretNotFoundError, NotebookAccessError, ... (their text never holds the key)
        raise MissingApiKeyError(
            f"the environment variable {env_name} is not set and Colab's secret {env_name} could not be read "
            f"({type(exc).__name__}): add a secret named {env_name} in the Secrets panel (key icon, left "
            "sidebar) and switch on its 'Notebook access'"
        ) from None
    if not key or not str(key).strip():
        raise MissingApiKeyError(f"Colab's secret {env_name} is empty: paste the key into the Secrets panel")
    return str(key).strip()


def _import_openai():
    try:
        import openai
    except ImportError:
        raise ImportError(
            "judge='api' needs the openai package: pip install 'sfdpo[api]' (or pip install 'openai>=1.55.3')"
        ) from None
    return openai


class _RateLimiter:
    """At most ``per_minute`` request starts a minute, evenly spaced."""

    def __init__(self, per_minute: float | None):
        self.interval = 60.0 / per_minute if per_minute else 0.0
        self.next_time = 0.0
        self.lock = threading.Lock()

    def wait(self) -> None:
        with self.lock:
            now = time.monotonic()
            start = max(now, self.next_time)
            self.next_time = start + self.interval
        if start > now:
            time.sleep(start - now)


class _JsonlCache:
    """Rewards by key in a JSON-lines file; each record is appended in one write.

    A torn last line (a crash mid-write) is skipped, counted in ``skipped`` and
    reported once; the next record then starts on a new line so it is not glued
    to the torn one.
    """

    def __init__(self, path: str | os.PathLike | None):
        self.path = os.fspath(path) if path is not None else None
        self.values: dict[str, float] = {}
        self.skipped = 0
        self._needs_newline = False
        self.lock = threading.Lock()
        if self.path and os.path.exists(self.path):
            self._load()

    def _load(self) -> None:
        with open(self.path, encoding="utf-8", errors="replace") as handle:
            text = handle.read()
        self._needs_newline = bool(text) and not text.endswith("\n")
        for line in text.splitlines():
            if not line.strip():
                continue
            try:
                record = json.loads(line)
                self.values[record["key"]] = float(record["reward"])
            except (ValueError, KeyError, TypeError):
                self.skipped += 1
        if self.skipped:
            warnings.warn(
                f"{self.path}: skipped {self.skipped} unreadable cache line(s) (e.g. cut short by a crash); "
                "those rewards will be requested again",
                UserWarning,
                stacklevel=3,
            )

    def get(self, key: str) -> float | None:
        return self.values.get(key)

    def put(self, key: str, record: dict) -> None:
        self.values[key] = float(record["reward"])
        if not self.path:
            return
        line = json.dumps(record, ensure_ascii=False) + "\n"
        with self.lock:
            if self._needs_newline:
                line, self._needs_newline = "\n" + line, False
            os.makedirs(os.path.dirname(os.path.abspath(self.path)), exist_ok=True)
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
            try:
                os.write(fd, line.encode("utf-8"))
                os.fsync(fd)
            finally:
                os.close(fd)


class ApiJudge:
    """Reward from an OpenAI-compatible endpoint (e.g. NVIDIA's hosted Nemotron reward).

    Sends ``[user: prompt, assistant: response]`` to ``{base_url}/chat/completions``
    and parses the reward with :func:`parse_reward`. ``max_retries`` and
    ``timeout`` (seconds per attempt) go to ``openai.OpenAI``, which retries 429,
    5xx, timeouts and connection errors with exponential back-off and honours
    ``Retry-After``; requests start at most ``requests_per_minute`` a minute.
    With ``cache_path`` every reward is appended to a JSON-lines file, so pairs
    already paid for are never sent again (not even with another judge object).

    Inputs longer than ``max_input_tokens`` (estimated as ``chars_per_token`` characters a token) are cut to fit
    (:func:`fit_to_budget`); an input the endpoint refuses scores ``nan`` and is recorded in ``skipped``
    (module docstring). ``n_truncated`` counts the inputs that were cut.

    Example: ``ApiJudge(NVIDIA_BASE_URL, NVIDIA_REWARD_MODEL, cache_path="rewards.jsonl")``
    with the key in ``$NVIDIA_API_KEY`` (or Colab's secret of that name).
    """

    def __init__(
        self,
        base_url: str,
        model: str,
        api_key_env: str = "NVIDIA_API_KEY",
        cache_path: str | os.PathLike | None = None,
        max_retries: int = 5,
        requests_per_minute: float | None = 40,
        timeout: float = 120.0,
        reward_key: str = "reward",
        max_input_tokens: int | None = NVIDIA_MAX_INPUT_TOKENS,
        chars_per_token: float = CHARS_PER_TOKEN,
    ):
        if not base_url or not model:
            raise ValueError(
                f"ApiJudge needs base_url and model (got base_url={base_url!r}, model={model!r}); "
                f"e.g. {NVIDIA_BASE_URL!r} and {NVIDIA_REWARD_MODEL!r}"
            )
        self.base_url, self.model, self.api_key_env = base_url.rstrip("/"), model, api_key_env
        self.max_retries, self.timeout, self.reward_key = int(max_retries), float(timeout), reward_key
        self._limiter = _RateLimiter(requests_per_minute)
        self._cache = _JsonlCache(cache_path)
        self.max_input_tokens, self.chars_per_token = max_input_tokens, float(chars_per_token)
        self.n_requests = 0  # completions asked for (the client's own retries come on top)
        self.n_truncated = 0  # inputs cut to fit the endpoint's limit
        self.skipped: list[dict] = []  # inputs the endpoint refused: {"prompt": start of it, "reason": ...}

    def __repr__(self) -> str:
        return f"ApiJudge(base_url={self.base_url!r}, model={self.model!r}, api_key_env={self.api_key_env!r})"

    @property
    def cache_skipped(self) -> int:
        """Unreadable lines skipped when the cache file was read (a torn last line after a crash)."""
        return self._cache.skipped

    def cache_key(self, prompt: str, response: str) -> str:
        """The cache's key of one pair: ``files.fingerprint(base_url, model, reward_key, prompt, response)``
        (the same model name on another endpoint, or another field of a multi-attribute answer, is another
        reward)."""
        return fingerprint(self.base_url, self.model, self.reward_key, prompt, response)

    def score(self, prompts: Sequence[str], responses: Sequence[str]) -> list[float]:
        """Reward for each pair, from the cache when already paid for; ``nan`` for an input the endpoint refused
        (listed in :attr:`skipped`, not cached: a later call asks again)."""
        check_lengths(prompts, responses)
        keys = [self.cache_key(p, r) for p, r in zip(prompts, responses)]
        todo = [i for i, key in enumerate(keys) if self._cache.get(key) is None]
        refused: dict[str, float] = {}
        if todo:
            openai = _import_openai()
            client = openai.OpenAI(
                base_url=self.base_url,
                api_key=read_api_key(self.api_key_env),
                max_retries=self.max_retries,
                timeout=self.timeout,
            )
            with client:  # closed (and the key with it) when this call ends
                for i in todo:
                    if self._cache.get(keys[i]) is not None or keys[i] in refused:
                        continue  # the same pair twice in one call is paid (or refused) once
                    value = self._judge_one(openai, client, prompts[i], responses[i])
                    if math.isnan(value):
                        refused[keys[i]] = value
                    else:
                        record = {"key": keys[i], "base_url": self.base_url, "model": self.model}
                        self._cache.put(keys[i], {**record, "reward_key": self.reward_key, "reward": value})
        return [refused.get(key, self._cache.get(key)) for key in keys]

    def _judge_one(self, openai, client, prompt: str, response: str) -> float:
        """The reward of one input cut to the budget; a refusal as too long halves the budget, twice at most;
        ``nan`` (recorded in :attr:`skipped`) when the endpoint still refuses it."""
        budget = None
        if self.max_input_tokens:
            budget = int((self.max_input_tokens - TEMPLATE_TOKENS) * self.chars_per_token)
        for attempt in range(3):
            sent = fit_to_budget(prompt, response, budget) if budget is not None else (prompt, response)
            if attempt == 0 and sent != (prompt, response):
                self.n_truncated += 1
            try:
                return self._request(openai, client, *sent)
            except _InputRefused as refusal:
                if not refusal.too_long or attempt == 2:
                    reason = f"HTTP {refusal.status}: {refusal.detail}" + (f" (cut {attempt}x)" if attempt else "")
                    self.skipped.append({"prompt": prompt[:80], "reason": reason})
                    warnings.warn(f"{self.base_url} refused an input, scored nan: {reason}", UserWarning, stacklevel=4)
                    return math.nan
                budget = (budget if budget is not None else len(prompt) + len(response)) // 2
        raise AssertionError("unreachable")

    def _request(self, openai, client, prompt: str, response: str) -> float:
        self._limiter.wait()
        self.n_requests += 1
        messages = [{"role": "user", "content": prompt}, {"role": "assistant", "content": response}]
        try:
            completion = client.chat.completions.create(model=self.model, messages=messages)
        except openai.APITimeoutError:
            raise RuntimeError(
                f"{self.base_url}: no answer within timeout={self.timeout:g} s for model {self.model!r} "
                f"(tried {self.max_retries + 1} times); raise the judge's timeout or try again later"
            ) from None
        except openai.APIConnectionError as exc:
            raise RuntimeError(f"cannot reach {self.base_url} ({type(exc.__cause__).__name__})") from None
        except openai.AuthenticationError as exc:
            raise RuntimeError(
                f"{self.base_url}: HTTP {exc.status_code}: the endpoint refused the key in ${self.api_key_env}"
            ) from None
        except openai.RateLimitError as exc:
            raise RuntimeError(
                f"{self.base_url}: HTTP {exc.status_code} (rate limited) after {self.max_retries} retries; "
                "lower requests_per_minute or try again later"
            ) from None
        except openai.APIStatusError as exc:
            detail = _error_detail(exc)
            if exc.status_code in _REFUSED_INPUT:
                raise _InputRefused(exc.status_code, detail) from None
            raise RuntimeError(f"{self.base_url}: HTTP {exc.status_code} for model {self.model!r}: {detail}") from None
        return parse_reward(completion.model_dump(), self.reward_key)


class _InputRefused(Exception):
    """The endpoint refused this input (HTTP 400/413/422); ``too_long`` when it says the input is too long."""

    def __init__(self, status: int, detail: str):
        super().__init__(detail)
        self.status, self.detail, self.too_long = status, detail, bool(_TOO_LONG.search(detail))


def _error_detail(exc) -> str:
    """The endpoint's own words: NVIDIA's problem-details ``detail``, OpenAI's ``error.message``, else the message."""
    body = exc.body if isinstance(exc.body, dict) else {}
    error = body.get("error") if isinstance(body.get("error"), dict) else {}
    return str(body.get("detail") or error.get("message") or body.get("message") or exc.message)[:300]
