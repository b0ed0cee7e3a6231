"""Datasets: smoltalk conversations for SFT, UltraFeedback pairs for DPO, evaluation prompts.

Online the rows come from the hub through one function, :func:`hub.hub_rows` (streamed, a seeded sample,
never the whole split in memory); offline from the demo files shipped in ``sfdpo_helpers/demo_data``
(same column formats) or from a local folder in the hub layout (``dataset=``). Either way they pass
through the same functions here, and every malformed row is either an error that names the dataset,
the row and the field, or a skip that is counted in a :class:`SkipReport` which the notebooks print.

The study's sizes and the memory they need (estimates: average row sizes from the dataset cards'
``num_bytes / num_examples``, times about 1.3 for Python string and dict overhead; not measured):

* smoltalk ``all``/``train``: 1,043,917 conversations, 4.0 GB as Arrow (about 3.9 KB a row, whole
  conversations). The study used the whole split (``limit=None``): it is streamed and only first
  turns are kept, roughly 2 KB a row, so about 2.5-3 GB of RAM for the ~1M rows (Colab: ~12 GB);
  holding the whole rows, as ``list(load_dataset(...))`` did, would take 5 GB or more.
* UltraFeedback ``train_prefs``: 61,135 rows, 406 MB (6.6 KB a row: the prompt four times, the
  chosen reply twice); the kept (prompt, chosen, rejected) strings are about 3.5 KB, so ~0.25 GB.
* UltraFeedback ``test_prefs``: 2,000 rows (13 MB); the prompts alone are ~1-2 MB.
* A seeded sample holds at most its shuffle buffer (10,000 rows, ~60 MB of smoltalk) beside what is kept.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .hub import HUB_BUFFER, HUB_HINT, hub_rows  # noqa: F401  (every hub read goes through hub.hub_rows)

DEMO_DIR = Path(__file__).parent / "demo_data"
SMOLTALK = "HuggingFaceTB/smoltalk"
SMOL_SMOLTALK = "HuggingFaceTB/smol-smoltalk"
ULTRAFEEDBACK = "HuggingFaceH4/ultrafeedback_binarized"


class DataError(ValueError):
    """A row that cannot be used, with the dataset, row index and field in the message."""


@dataclass
class SkipReport:
    """Counts of rows removed, by reason. Printed by the notebooks; nothing is dropped silently."""

    dataset: str
    seen: int = 0
    skipped: Counter = field(default_factory=Counter)
    examples: dict = field(default_factory=dict)
    changed: Counter = field(default_factory=Counter)  # kept rows that were altered, by how (system turn folded)
    first_changed: dict = field(default_factory=dict)

    def skip(self, reason: str, row_index: int) -> None:
        self.skipped[reason] += 1
        self.examples.setdefault(reason, row_index)

    def change(self, how: str, row_index: int) -> None:
        self.changed[how] += 1
        self.first_changed.setdefault(how, row_index)

    @property
    def kept(self) -> int:
        return self.seen - sum(self.skipped.values())

    def __str__(self) -> str:
        lines = [f"{self.dataset}: {self.seen} rows read, {self.kept} kept"]
        for reason, n in self.skipped.most_common():
            lines.append(f"  skipped {n:5d}  {reason} (first at row {self.examples[reason]})")
        for how, n in self.changed.most_common():
            lines.append(f"  kept    {n:5d}  {how} (first at row {self.first_changed[how]})")
        return "\n".join(lines)


def read_jsonl(path: str | Path) -> list[dict]:
    """Rows of a JSON-lines file; bad UTF-8 or bad JSON raise an error naming file and line."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such file")
    rows = []
    with open(path, "rb") as f:
        for line_no, raw in enumerate(f, 1):
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError as err:
                raise DataError(f"{path}, line {line_no}: invalid UTF-8 ({err.reason} at byte {err.start})") from None
            if not text.strip():
                continue
            try:
                row = json.loads(text)
            except json.JSONDecodeError as err:
                raise DataError(f"{path}, line {line_no}: invalid JSON ({err.msg})") from None
            if not isinstance(row, dict):
                raise DataError(f"{path}, line {line_no}: expected a JSON object, got {type(row).__name__}")
            rows.append(row)
    return rows


def _check_message(msg, where: str, role: str) -> str:
    if not isinstance(msg, dict):
        raise DataError(f"{where}: expected a message dict, got {type(msg).__name__}")
    if msg.get("role") != role:
        raise DataError(f"{where}.role: expected {role!r}, got {msg.get('role')!r}")
    content = msg.get("content")
    if not isinstance(content, str):
        raise DataError(f"{where}.content: expected a string, got {type(content).__name__}")
    if not content.strip():
        raise DataError(f"{where}.content: empty")
    return content


# Default system prompts of chat templates and datasets: they say nothing about the task, so a first turn that
# starts with one of them (compared without case, surrounding spaces or a final full stop) drops it.
GENERIC_SYSTEM_PROMPTS = frozenset(
    {
        "you are a helpful assistant",
        "you are a helpful ai assistant",
        "you are a helpful, respectful and honest assistant",
        "you are qwen, created by alibaba cloud. you are a helpful assistant",
        "you are a helpful ai assistant named smollm, trained by hugging face",
    }
)
SYSTEM_FOLDED = "system message folded into the prompt"


def is_generic_system_prompt(text: str) -> bool:
    """True for a default persona ("You are a helpful assistant.") listed in :data:`GENERIC_SYSTEM_PROMPTS`."""
    return text.strip().rstrip(".").strip().lower() in GENERIC_SYSTEM_PROMPTS


def fold_system(system: str, user: str) -> str:
    """The prompt of a first turn whose system message carries the task: the system text, a blank line, the
    user text (the task first, then the input it applies to, as a person would write it)."""
    return f"{system.strip()}\n\n{user}"


def first_turn_folded(messages, dataset: str, row_index: int) -> tuple[str, str, bool]:
    """(prompt, assistant reply, whether a system message was folded into the prompt) of the first turn.

    A leading system message is folded into the prompt (:func:`fold_system`) unless it is a generic persona
    (:func:`is_generic_system_prompt`), which is dropped. Why fold: in several smoltalk subsets the task is the
    system message and the user turn is only its input (smol-rewrite: "Rewrite the input text to be more
    concise..." + an e-mail; smol-summarize: "Provide a concise, objective summary of the input text..." + an
    article; apigen-80k: the function list + a question). Dropping it would train "e-mail -> rewritten e-mail"
    with the instruction gone. A persona ("You are a patient teacher.") cannot be told from a task reliably, and
    the reply was written to follow it too, so only the exact defaults listed are dropped; every other system
    message is folded and counted. A long folded prompt is truncated at its end like any other prompt
    (:func:`prepare_sft`, counted there).

    Turns must alternate user/assistant; anything else raises :class:`DataError`.
    """
    where = f"{dataset} row {row_index}: messages"
    if not isinstance(messages, list):
        raise DataError(f"{where}: expected a list of messages, got {type(messages).__name__}")
    system, msgs = None, messages
    if messages and isinstance(messages[0], dict) and messages[0].get("role") == "system":
        msgs, content = messages[1:], messages[0].get("content")
        if content is not None and not isinstance(content, str):
            raise DataError(f"{where}[0].content: expected a string, got {type(content).__name__}")
        system = content if content and content.strip() else None  # an empty system message says nothing
    if len(msgs) < 2:
        raise DataError(f"{where}: needs a user turn and an assistant reply, got {len(msgs)} message(s)")
    offset = len(messages) - len(msgs)
    prompt = _check_message(msgs[0], f"{where}[{offset}]", "user")
    reply = _check_message(msgs[1], f"{where}[{offset + 1}]", "assistant")
    if system is None or is_generic_system_prompt(system):
        return prompt, reply, False
    return fold_system(system, prompt), reply, True


def first_turn(messages, dataset: str, row_index: int) -> tuple[str, str]:
    """(prompt, assistant reply) of the first turn, a task-carrying system message folded into the prompt
    (:func:`first_turn_folded`)."""
    prompt, reply, _ = first_turn_folded(messages, dataset, row_index)
    return prompt, reply


def _raw_rows(source: str, demo_file: str, split: str, limit=None, **hub) -> Iterable[dict]:
    """Rows from the hub (lazily, a seeded sample of ``limit``), the demo data or a JSONL file/folder
    (the first ``limit`` rows: the notebooks' demo outputs depend on that order)."""
    if source == "hub":
        return hub_rows(hub.pop("dataset"), split, n=limit, **hub)
    if source == "demo" or Path(source).is_dir():
        rows = read_jsonl((DEMO_DIR if source == "demo" else Path(source)) / demo_file)
    elif Path(source).is_file():
        rows = read_jsonl(source)
    else:
        raise ValueError(
            f"source must be 'demo', 'hub', a folder laid out like sfdpo_helpers/demo_data "
            f"or a JSONL file, got {source!r}"
        )
    return rows[:limit] if limit is not None else rows


def _label(name: str, source: str, dataset: str, config, split: str, limit, seed: int) -> str:
    if source != "hub":
        return f"{name}[{source}]"
    sample = "" if limit is None else f", sample of {limit} seed {seed}"
    return f"{dataset}[{config or 'default'}/{split}{sample}]"


def sft_rows(rows: Iterable[dict], dataset: str, on_error: str = "skip") -> tuple[list[dict], SkipReport]:
    """First-turn ``{"prompt", "response"}`` rows from smoltalk-format rows (``messages`` column).

    A system message that carries the task is folded into the prompt and counted in the report
    (:func:`first_turn_folded`). Malformed rows raise (``on_error="raise"``) or are skipped and counted, as
    are repeated prompts (the first occurrence is kept)."""
    report = SkipReport(dataset)
    out, seen = [], set()
    for i, row in enumerate(rows):  # rows may be a stream: only the first turn of each row is kept
        report.seen += 1
        try:
            if not isinstance(row, dict) or "messages" not in row:
                raise DataError(f"{dataset} row {i}: missing field 'messages'")
            prompt, response, folded = first_turn_folded(row["messages"], dataset, i)
        except DataError as err:
            if on_error == "raise":
                raise
            report.skip(str(err).split(": ", 1)[1], i)
            continue
        if prompt.strip() in seen:
            report.skip("duplicate prompt", i)
            continue
        if folded:
            report.change(SYSTEM_FOLDED, i)
        seen.add(prompt.strip())
        out.append({"prompt": prompt, "response": response, **_extras(row)})
    return out, report


def _extras(row: dict) -> dict:
    """Columns the demo data carries beyond the hub format (category, verifiable instructions, the gold reward's
    reference, a pair's rejected kind)."""
    return {k: row[k] for k in ("category", "instruction_id_list", "kwargs", "reference", "rejected_kind") if k in row}


def load_sft(source: str = "demo", split: str = "train", limit: int | None = None, on_error: str = "skip",
             dataset: str = SMOLTALK, config: str | None = "all", seed: int = 0):  # fmt: skip
    """First turns of smoltalk (``source='hub'``: ``dataset``/``config``/``split``, a seeded sample of
    ``limit`` rows), the shipped demo conversations (``'demo'``), a folder with ``sft.jsonl`` or a JSONL path."""
    rows = _raw_rows(source, "sft.jsonl", split, limit, dataset=dataset, config=config, seed=seed)
    return sft_rows(rows, _label("smoltalk", source, dataset, config, split, limit, seed), on_error=on_error)


def pair_rows(rows: Iterable[dict], dataset: str, on_error: str = "skip") -> tuple[list[dict], SkipReport]:
    """``{"prompt", "chosen", "rejected"}`` strings from ultrafeedback_binarized-format rows."""
    report = SkipReport(dataset)
    out, seen = [], set()
    for i, row in enumerate(rows):
        report.seen += 1
        try:
            if not isinstance(row, dict):
                raise DataError(f"{dataset} row {i}: expected an object, got {type(row).__name__}")
            for name in ("chosen", "rejected"):
                if name not in row:
                    raise DataError(f"{dataset} row {i}: missing field {name!r}")
            prompt, chosen = first_turn(row["chosen"], dataset, i)
            _, rejected = first_turn(row["rejected"], dataset, i)
            if chosen.strip() == rejected.strip():
                raise DataError(f"{dataset} row {i}: chosen == rejected")
        except DataError as err:
            if on_error == "raise":
                raise
            report.skip(str(err).split(": ", 1)[1].replace(f"{dataset} row {i}", "").strip(), i)
            continue
        if prompt.strip() in seen:
            report.skip("duplicate prompt", i)
            continue
        seen.add(prompt.strip())
        out.append({"prompt": prompt, "chosen": chosen, "rejected": rejected, **_extras(row)})
    return out, report


def load_pairs(source: str = "demo", split: str = "train_prefs", limit: int | None = None, on_error: str = "skip",
               dataset: str = ULTRAFEEDBACK, config: str | None = None, seed: int = 0):  # fmt: skip
    """UltraFeedback binarized pairs (``'hub'``: ``dataset``/``split``, a seeded sample of ``limit`` rows),
    the shipped demo pairs (``'demo'``), a folder with ``pairs.jsonl`` or a JSONL path."""
    rows = _raw_rows(source, "pairs.jsonl", split, limit, dataset=dataset, config=config, seed=seed)
    return pair_rows(rows, _label("ultrafeedback", source, dataset, config, split, limit, seed), on_error=on_error)


def load_eval_prompts(
    source: str = "demo",
    limit: int | None = None,
    dataset: str = ULTRAFEEDBACK,
    config: str | None = None,
    split: str = "test_prefs",
    seed: int = 0,
) -> list[dict]:
    """Held-out prompts: demo prompts with categories and IFEval-schema instructions, UltraFeedback's
    ``test_prefs`` prompts from the hub (a seeded sample of ``limit``), or any JSONL with a ``prompt`` column."""
    rows = _raw_rows(source, "eval_prompts.jsonl", split, limit, dataset=dataset, config=config, seed=seed)
    if source == "hub":
        rows = [{"prompt": r.get("prompt")} for r in rows]
    label = _label("eval prompts", source, dataset, config, split, limit, seed)
    for i, row in enumerate(rows):
        if not isinstance(row.get("prompt"), str) or not row["prompt"].strip():
            raise DataError(f"{label} row {i}: field 'prompt' missing or empty")
    return rows


def subset(rows: list, n: int | None, seed: int = 0) -> list:
    """A seeded sample of ``n`` rows in their original order (all rows when ``n`` is None or larger).

    The demo's evaluation prompts are sorted by category; a plain ``rows[:n]`` would test a few
    categories only. Every notebook uses the same (n, seed), so cached answers are reused.
    """
    if n is None or n >= len(rows):
        return list(rows)
    keep = sorted(np.random.default_rng(seed).choice(len(rows), size=n, replace=False))
    return [rows[i] for i in keep]


# --- lengths, percentiles and truncation (the study's Table 1) -------------------------------


def token_lengths(rows: list[dict], tokenizer, field_name: str) -> np.ndarray:
    """Number of tokens of ``row[field_name]`` (no special tokens) for every row."""
    enc = tokenizer([r[field_name] for r in rows], add_special_tokens=False)["input_ids"]
    return np.array([len(ids) for ids in enc])


def percentile_table(rows: list[dict], tokenizer, percentiles=(50, 90, 95, 99)) -> dict:
    """``{"prompt": {50: n, ...}, "response": {...}}`` token-length percentiles (Table 1)."""
    return {
        name: {p: int(np.percentile(token_lengths(rows, tokenizer, name), p)) for p in percentiles}
        for name in ("prompt", "response")
    }


def _truncate(text: str, tokenizer, max_tokens: int) -> tuple[str, bool]:
    ids = tokenizer(text, add_special_tokens=False)["input_ids"]
    if len(ids) <= max_tokens:
        return text, False
    return tokenizer.decode(ids[:max_tokens]), True


def prepare_sft(
    rows: list[dict],
    tokenizer,
    max_prompt_tokens: int = 255,
    max_response_tokens: int = 420,
    min_response_chars: int = 75,
) -> tuple[list[dict], dict]:
    """Drop short responses, then truncate prompts and responses to their token budgets.

    Returns the rows and a dict counting what each step did, e.g.
    ``{"rows in": 1000, "dropped: response < 75 chars": 31, "prompts truncated": 12, ...}``.
    """
    if min(max_prompt_tokens, max_response_tokens) <= 0:
        raise ValueError("max_prompt_tokens and max_response_tokens must be positive")
    counts = Counter({"rows in": len(rows)})
    out = []
    for row in rows:
        if len(row["response"].strip()) < min_response_chars:
            counts[f"dropped: response < {min_response_chars} chars"] += 1
            continue
        prompt, cut_p = _truncate(row["prompt"], tokenizer, max_prompt_tokens)
        response, cut_r = _truncate(row["response"], tokenizer, max_response_tokens)
        counts[f"prompts truncated to {max_prompt_tokens} tokens"] += cut_p
        counts[f"responses truncated to {max_response_tokens} tokens"] += cut_r
        out.append({**row, "prompt": prompt, "response": response})
    counts["rows out"] = len(out)
    return out, dict(counts)


def train_eval_split(rows: list, eval_fraction: float = 0.05, seed: int = 0) -> tuple[list, list]:
    """Seeded split; at least one eval row when there are two or more rows."""
    if not 0 <= eval_fraction < 1:
        raise ValueError(f"eval_fraction must be in [0, 1), got {eval_fraction}")
    order = np.random.default_rng(seed).permutation(len(rows))
    n_eval = max(1, int(round(eval_fraction * len(rows)))) if len(rows) > 1 and eval_fraction > 0 else 0
    return [rows[i] for i in order[n_eval:]], [rows[i] for i in order[:n_eval]]


def write_jsonl(rows: list[dict], path: str | Path) -> None:
    """Write rows atomically (temporary name, fsync, rename): :func:`sfdpo_helpers.files.write_jsonl`."""
    from .files import write_jsonl as _write

    _write(rows, path)
