"""Builders of a faithful offline copy of the hub things the study uses: same layouts and schemas, tiny contents.

Nothing here is a test. The tests build the world under a tmp folder and run the kit's own functions on it
(``data.load_sft("hub", dataset=...)``, ``models.load_model("Qwen/Qwen2.5-0.5B-Instruct")``), so the code path
the notebooks take on Colab (``load_dataset(id, config, split=..., streaming=True)``, ``snapshot_download``)
runs here without a network.

What was checked, and where (2026, with the ``search`` tool; nothing was downloaded):

* ``HuggingFaceTB/smoltalk``: the repo tree (huggingface.co/datasets/HuggingFaceTB/smoltalk/tree/main/data and
  .../data/all): one folder per config under ``data/`` (``all``, ``everyday-conversations``, ``systemchats-30k``,
  ...), each with ``train-0000k-of-0000n.parquet`` shards (``all``: 9 train shards of ~223 MB) and
  ``test-00000-of-00001.parquet``; ``README.md`` at the root. The columns (``messages``: list of
  ``{content, role}`` structs, ``source``: string) and the sizes of ``all`` (train 1,043,917 rows / 4.02 GB,
  test 54,948) come from the card of mlabonne/smoltalk-flat, a flattened copy of ``all``. The ``configs:``
  YAML itself was not found in the indexed pages: the ``data/<config>/<split>-*`` patterns below follow the
  folder layout and the hub's convention (a derived card, cognitivecomputations' DolphinLabeled, uses
  ``data/all/train*``).
* ``HuggingFaceH4/ultrafeedback_binarized``: README.md read (huggingface.co/datasets/.../blob/main/README.md):
  one ``default`` config, splits train_prefs, train_sft, test_prefs, test_sft, train_gen, test_gen at
  ``data/<split>-*``; features prompt (string), prompt_id (string), chosen / rejected / messages (list of
  ``{content, role}``), score_chosen / score_rejected (float64); 61,135 / 2,000 rows in train_prefs /
  test_prefs. The shard names (``-00000-of-00001.parquet``) are the hub's convention, not read one by one.
* Qwen2.5-0.5B(-Instruct): config.json (Qwen2ForCausalLM, tie_word_embeddings true, bos 151643) and the
  Instruct generation_config.json (bos/pad 151643, eos [151645, 151643], do_sample true, repetition_penalty
  1.1, temperature 0.7, top_p 0.8, top_k 20) from copies of the repo files on huggingface.co (e.g.
  MrezaPRZ/Qwen2-0.5B-Instruct_NL2SQL_BIRD, unsloth/Qwen2.5-0.5B-Instruct); the base model's generation
  config (eos 151643 only, max_new_tokens 2048) from fine-tunes that kept it. tokenizer_config: Instruct eos
  ``<|im_end|>``, pad ``<|endoftext|>``, bos null; base eos = pad = ``<|endoftext|>``; the chat template's
  default system prompt is "You are Qwen, created by Alibaba Cloud. You are a helpful assistant." for
  Instruct and "You are a helpful assistant." for the base model (LlamaFactory PR #10772, lmdeploy #3475).
  The template text below is Qwen2.5's, as found verbatim in a public test file that embeds it.

Differences kept on purpose: the vocabulary is SmolLM2's 49,152-token BPE (the kit's offline tokenizer), whose
ids 0/1/2 are ``<|endoftext|>``/``<|im_start|>``/``<|im_end|>`` (Qwen's are 151643/151644/151645; the
generation config maps them); the model is 2 layers of width 64; row counts are tens, not millions.

``datasets`` cannot open a dataset *hub id* offline from a hub-cache snapshot: in offline mode its
``dataset_module_factory`` raises OfflineModeIsEnabled before calling ``hf_hub_download`` and then only looks at
its own Arrow cache (``HF_DATASETS_CACHE``, filled by an earlier non-streaming load). The kit's
``data.hub_rows`` therefore resolves an id offline with ``snapshot_download(repo_type="dataset",
local_files_only=True)`` and hands the snapshot folder to the same ``load_dataset`` call, so
:func:`install_in_hub_cache` works for the datasets too.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import yaml

from sfdpo_helpers.files import fingerprint

MESSAGES = pa.list_(pa.struct([("content", pa.string()), ("role", pa.string())]))
MESSAGE_FEATURES = [{"name": "content", "dtype": "string"}, {"name": "role", "dtype": "string"}]
SMOLTALK_SIZES = {"train": 120, "test": 24}
SMOLTALK_TRAIN_SHARDS = 3
SMOLTALK_BAD = {  # row index -> what is wrong (the loader must skip and count these)
    7: "first message is the assistant's",
    19: "empty user message",
    31: "a single message",
    43: "assistant content is null",
    55: "no messages at all",
}
ULTRAFEEDBACK_SIZES = {
    "train_prefs": 40,
    "train_sft": 8,
    "test_prefs": 12,
    "test_sft": 6,
    "train_gen": 8,
    "test_gen": 6,
}
ULTRAFEEDBACK_BAD = {5: "chosen == rejected", 11: "empty rejected reply"}  # in train_prefs
TOPICS = ("sort a list", "boil an egg", "learn Spanish", "fix a flat tyre", "write a haiku", "plan a trip")
SOURCES = ("smol-magpie-ultra", "everyday-conversations", "systemchats-30k", "smol-constraints")

QWEN_TEMPLATE = (
    "{%- if tools %}\n    {{- '<|im_start|>system\\n' }}\n    {%- if messages[0]['role'] == 'system' %}\n"
    "        {{- messages[0]['content'] }}\n    {%- else %}\n        {{- '@SYSTEM@' }}\n    {%- endif %}\n"
    '    {{- "\\n\\n# Tools\\n\\nYou may call one or more functions to assist with the user query.\\n\\n'
    'You are provided with function signatures within <tools></tools> XML tags:\\n<tools>" }}\n'
    '    {%- for tool in tools %}\n        {{- "\\n" }}\n        {{- tool | tojson }}\n    {%- endfor %}\n'
    '    {{- "\\n</tools>\\n\\nFor each function call, return a json object with function name and arguments '
    'within <tool_call></tool_call> XML tags:\\n<tool_call>\\n{\\"name\\": <function-name>, \\"arguments\\": '
    '<args-json-object>}\\n</tool_call><|im_end|>\\n" }}\n'
    "{%- else %}\n    {%- if messages[0]['role'] == 'system' %}\n"
    "        {{- '<|im_start|>system\\n' + messages[0]['content'] + '<|im_end|>\\n' }}\n    {%- else %}\n"
    "        {{- '<|im_start|>system\\n@SYSTEM@<|im_end|>\\n' }}\n    {%- endif %}\n{%- endif %}\n"
    "{%- for message in messages %}\n"
    '    {%- if (message.role == "user") or (message.role == "system" and not loop.first) or '
    '(message.role == "assistant" and not message.tool_calls) %}\n'
    "        {{- '<|im_start|>' + message.role + '\\n' + message.content + '<|im_end|>' + '\\n' }}\n"
    "    {%- elif message.role == \"assistant\" %}\n        {{- '<|im_start|>' + message.role }}\n"
    "        {%- if message.content %}\n            {{- '\\n' + message.content }}\n        {%- endif %}\n"
    "        {%- for tool_call in message.tool_calls %}\n            {%- if tool_call.function is defined %}\n"
    "                {%- set tool_call = tool_call.function %}\n            {%- endif %}\n"
    '            {{- \'\\n<tool_call>\\n{"name": "\' }}\n            {{- tool_call.name }}\n'
    '            {{- \'", "arguments": \' }}\n            {{- tool_call.arguments | tojson }}\n'
    "            {{- '}\\n</tool_call>' }}\n        {%- endfor %}\n        {{- '<|im_end|>\\n' }}\n"
    '    {%- elif message.role == "tool" %}\n'
    '        {%- if (loop.index0 == 0) or (messages[loop.index0 - 1].role != "tool") %}\n'
    "            {{- '<|im_start|>user' }}\n        {%- endif %}\n        {{- '\\n<tool_response>\\n' }}\n"
    "        {{- message.content }}\n        {{- '\\n</tool_response>' }}\n"
    '        {%- if loop.last or (messages[loop.index0 + 1].role != "tool") %}\n'
    "            {{- '<|im_end|>\\n' }}\n        {%- endif %}\n    {%- endif %}\n{%- endfor %}\n"
    "{%- if add_generation_prompt %}\n    {{- '<|im_start|>assistant\\n' }}\n{%- endif %}\n"
)
QWEN_SYSTEM = {
    "instruct": "You are Qwen, created by Alibaba Cloud. You are a helpful assistant.",
    "base": "You are a helpful assistant.",
}
ENDOFTEXT, IM_START, IM_END = "<|endoftext|>", "<|im_start|>", "<|im_end|>"


def _msg(role: str, content) -> dict:
    return {"content": content, "role": role}


# --- smoltalk -------------------------------------------------------------------------------------


# smoltalk subsets whose task is the system message and whose user turn is only the input (rows of their real
# shape, texts shortened): the first turn must keep the task, so the expected prompt is "system\n\nuser".
SYSTEM_TASKS = (
    (
        "smol-rewrite",
        "You're an AI assistant for text re-writing. Rewrite the input text to make it more concise while "
        "preserving its core meaning.",
        "Hi Sam, I wanted to follow up on the budget we talked about on Monday, because I think we still need to "
        "agree on the numbers before Friday. Best, Alex",
        "Hi Sam, can we agree on Monday's budget numbers before Friday? Best, Alex",
    ),
    (
        "smol-summarize",
        "Provide a concise, objective summary of the input text in up to three sentences, focusing on key actions "
        "and intentions without using second or third person pronouns.",
        "The city council voted on Tuesday to extend the bike lane network by 40 km over the next three years, "
        "funded by a new parking levy.",
        "A 40 km extension of the bike lane network over three years was approved, funded by a parking levy.",
    ),
    (
        "apigen-80k",
        "You are an expert in composing functions. You are given a question and a set of possible functions. "
        "Based on the question, you will need to make one or more function/tool calls to achieve the purpose.\n\n"
        'You have access to the following tools:\n<tools>[{"name": "get_weather", "description": "Current weather '
        'of a city", "parameters": {"city": {"type": "str"}}}]</tools>',
        "What is the weather in Lisbon right now?",
        '<tool_call>[{"name": "get_weather", "arguments": {"city": "Lisbon"}}]</tool_call>',
    ),
)


def smoltalk_row(split: str, i: int) -> tuple[dict, tuple[str, str] | None]:
    """Row ``i`` of a split and its expected first turn (None for the malformed rows of SMOLTALK_BAD).

    The mix mirrors smoltalk: plain one-turn chats, a persona system turn first (systemchats: "You are a helpful
    assistant." is dropped, "You are a patient teacher." folded into the prompt), multi-turn chats, and rows of
    the subsets whose system message is the task (:data:`SYSTEM_TASKS`: folded into the prompt)."""
    user = f"[{split} {i}] How do I {TOPICS[i % len(TOPICS)]}? Please explain step by step."
    reply = f"[{split} {i}] To {TOPICS[i % len(TOPICS)]}, start small, check each step, and keep notes as you go."
    follow = [_msg("user", "And after that?"), _msg("assistant", "Then repeat until it works.")]
    kind = i % 4
    messages = [_msg("user", user), _msg("assistant", reply)] + (follow if kind == 2 else [])
    source, expected = SOURCES[i % len(SOURCES)], (user, reply)
    if kind == 1:
        persona = "You are a helpful assistant." if i % 8 == 1 else "You are a patient teacher."
        messages = [_msg("system", persona)] + messages
        expected = (user if i % 8 == 1 else f"{persona}\n\n{user}", reply)
    if kind == 3:
        source, task, text, answer = SYSTEM_TASKS[(i // 4) % len(SYSTEM_TASKS)]
        user, reply = f"[{split} {i}] {text}", f"[{split} {i}] {answer}"
        messages = [_msg("system", task), _msg("user", user), _msg("assistant", reply)]
        expected = (f"{task}\n\n{user}", reply)
    row = {"messages": messages, "source": source}
    bad = SMOLTALK_BAD.get(i) if split == "train" else None
    if bad is None:
        return row, expected
    broken = {
        "first message is the assistant's": [_msg("assistant", reply), _msg("user", user)],
        "empty user message": [_msg("user", "   "), _msg("assistant", reply)],
        "a single message": [_msg("user", user)],
        "assistant content is null": [_msg("user", user), _msg("assistant", None)],
        "no messages at all": [],
    }[bad]
    return {"messages": broken, "source": row["source"]}, None


def smoltalk_rows(split: str) -> list[dict]:
    return [smoltalk_row(split, i)[0] for i in range(SMOLTALK_SIZES[split])]


def smoltalk_first_turns(split: str) -> list[tuple[str, str] | None]:
    return [smoltalk_row(split, i)[1] for i in range(SMOLTALK_SIZES[split])]


def _write_parquet(rows: list[dict], schema: pa.Schema, path: Path, row_group_size: int = 10) -> dict:
    """Small row groups, so ``IterableDataset.reshard()`` has several shards per file, as on the hub.
    Returns the card's split entry (name filled in by the caller)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    table = pa.Table.from_pylist(rows, schema=schema)
    pq.write_table(table, path, row_group_size=row_group_size)
    return {"num_bytes": table.nbytes, "num_examples": len(rows)}


class _PlainDumper(yaml.SafeDumper):
    """No ``&id001``/``*id001`` anchors for repeated feature lists: hub cards spell them out."""

    def ignore_aliases(self, data) -> bool:
        return True


def _write_card(folder: Path, card: dict, title: str) -> None:
    front = yaml.dump(card, Dumper=_PlainDumper, sort_keys=False)
    (folder / "README.md").write_text(f"---\n{front}---\n\n# {title}\n\nA tiny offline rehearsal copy.\n")


def build_smoltalk(root: str | Path) -> Path:
    """``root/smoltalk``: configs ``all`` (train in SMOLTALK_TRAIN_SHARDS shards, test) and
    ``everyday-conversations`` under ``data/<config>/``, and the README's ``configs:`` front matter."""
    folder = Path(root) / "smoltalk"
    schema = pa.schema([("messages", MESSAGES), ("source", pa.string())])
    train, test = smoltalk_rows("train"), smoltalk_rows("test")
    everyday = [r for r in train if r["source"] == "everyday-conversations"]
    per = -(-len(train) // SMOLTALK_TRAIN_SHARDS)
    shards = {  # (config, split) -> rows of each parquet shard
        ("all", "train"): [train[k * per : (k + 1) * per] for k in range(SMOLTALK_TRAIN_SHARDS)],
        ("all", "test"): [test],
        ("everyday-conversations", "train"): [everyday],
        ("everyday-conversations", "test"): [everyday[:3]],
    }
    splits: dict[str, list] = {"all": [], "everyday-conversations": []}
    for (config, split), parts in shards.items():
        sizes = [
            _write_parquet(rows, schema, folder / "data" / config / f"{split}-{k:05d}-of-{len(parts):05d}.parquet")
            for k, rows in enumerate(parts)
        ]
        total = {key: sum(size[key] for size in sizes) for key in ("num_bytes", "num_examples")}
        splits[config].append({"name": split, **total})
    features = [{"name": "messages", "list": MESSAGE_FEATURES}, {"name": "source", "dtype": "string"}]
    card = {
        "language": ["en"],
        "tags": ["synthetic"],
        "pretty_name": "SmolTalk",
        "dataset_info": [
            {"config_name": name, "features": features, "splits": parts} for name, parts in splits.items()
        ],
        "configs": [
            {
                "config_name": name,
                "data_files": [{"split": split, "path": f"data/{name}/{split}-*"} for split in ("train", "test")],
            }
            for name in splits
        ],
    }
    _write_card(folder, card, "SmolTalk (rehearsal copy)")
    return folder


# --- ultrafeedback_binarized ----------------------------------------------------------------------


def ultrafeedback_row(split: str, i: int) -> tuple[dict, tuple[str, str, str] | None]:
    """Row ``i`` of a split and its expected (prompt, chosen, rejected); None for ULTRAFEEDBACK_BAD rows."""
    prompt = f"[{split} {i}] Which is better for a beginner: {TOPICS[i % len(TOPICS)]} alone or with help?"
    chosen = f"[{split} {i}] With help at first: a guide catches mistakes early, then practise alone."
    rejected = f"[{split} {i}] Alone."
    bad = ULTRAFEEDBACK_BAD.get(i) if split == "train_prefs" else None
    if bad == "chosen == rejected":
        rejected = chosen
    elif bad == "empty rejected reply":
        rejected = ""
    chosen_conv = [_msg("user", prompt), _msg("assistant", chosen)]
    row = {
        # prompt_id on the hub is the sha256 hex digest of the prompt text
        "prompt": prompt,
        "prompt_id": hashlib.sha256(prompt.encode("utf-8")).hexdigest(),
        "chosen": chosen_conv,
        "rejected": [_msg("user", prompt), _msg("assistant", rejected)],
        "messages": chosen_conv,
        "score_chosen": 8.0 + (i % 3) / 2,
        "score_rejected": 4.0 + (i % 4) / 2,
    }
    return row, (None if bad else (prompt, chosen, rejected))


def ultrafeedback_rows(split: str) -> list[dict]:
    return [ultrafeedback_row(split, i)[0] for i in range(ULTRAFEEDBACK_SIZES[split])]


def ultrafeedback_pairs(split: str) -> list[tuple[str, str, str] | None]:
    return [ultrafeedback_row(split, i)[1] for i in range(ULTRAFEEDBACK_SIZES[split])]


def build_ultrafeedback(root: str | Path) -> Path:
    """``root/ultrafeedback_binarized``: the six splits of the ``default`` config at ``data/<split>-*``."""
    folder = Path(root) / "ultrafeedback_binarized"
    schema = pa.schema(
        [
            ("prompt", pa.string()),
            ("prompt_id", pa.string()),
            ("chosen", MESSAGES),
            ("rejected", MESSAGES),
            ("messages", MESSAGES),
            ("score_chosen", pa.float64()),
            ("score_rejected", pa.float64()),
        ]
    )
    splits = [
        {
            "name": split,
            **_write_parquet(ultrafeedback_rows(split), schema, folder / "data" / f"{split}-00000-of-00001.parquet"),
        }
        for split in ULTRAFEEDBACK_SIZES
    ]
    features = [{"name": "prompt", "dtype": "string"}, {"name": "prompt_id", "dtype": "string"}]
    features += [{"name": name, "list": MESSAGE_FEATURES} for name in ("chosen", "rejected", "messages")]
    features += [{"name": name, "dtype": "float64"} for name in ("score_chosen", "score_rejected")]
    card = {
        "language": ["en"],
        "license": "mit",
        "task_categories": ["text-generation"],
        "pretty_name": "UltraFeedback Binarized",
        "configs": [
            {
                "config_name": "default",
                "data_files": [{"split": s, "path": f"data/{s}-*"} for s in ULTRAFEEDBACK_SIZES],
            }
        ],
        "dataset_info": {"features": features, "splits": splits},
    }
    _write_card(folder, card, "UltraFeedback Binarized (rehearsal copy)")
    return folder


# --- a Qwen2.5-style model folder -----------------------------------------------------------------


def qwen_tokenizer(flavor: str = "instruct"):
    """SmolLM2's tokenizer dressed as Qwen2.5's: its special tokens, bos null, unk null, eos ``<|im_end|>``
    (Instruct) or ``<|endoftext|>`` (base), pad ``<|endoftext|>``, and Qwen2.5's chat template."""
    from sfdpo_helpers import models

    if flavor not in QWEN_SYSTEM:
        raise ValueError(f"flavor must be one of {sorted(QWEN_SYSTEM)}, got {flavor!r}")
    tok = models.load_tokenizer("tiny")
    tok.bos_token, tok.unk_token = None, None
    tok.eos_token = IM_END if flavor == "instruct" else ENDOFTEXT
    tok.pad_token = ENDOFTEXT
    tok.chat_template = QWEN_TEMPLATE.replace("@SYSTEM@", QWEN_SYSTEM[flavor])
    tok.model_max_length = 131072
    return tok


def qwen_generation_config(tok, flavor: str):
    """Qwen2.5's generation_config.json with the ids of this vocabulary."""
    from transformers import GenerationConfig

    end, eot = tok.convert_tokens_to_ids(ENDOFTEXT), tok.convert_tokens_to_ids(IM_END)
    if flavor == "base":
        return GenerationConfig(bos_token_id=end, eos_token_id=end, do_sample=False, max_new_tokens=2048)
    return GenerationConfig(
        bos_token_id=end,
        pad_token_id=end,
        eos_token_id=[eot, end],
        do_sample=True,
        repetition_penalty=1.1,
        temperature=0.7,
        top_p=0.8,
        top_k=20,
    )


def build_qwen_model(root: str | Path, flavor: str = "instruct", tied: bool = True, seed: int = 0) -> Path:
    """``root/Qwen2.5-0.5B[-Instruct]``: a random 2-layer Qwen2ForCausalLM, its tokenizer and generation config.

    ``tied=False`` gives the model its own random output head: a tied random model's greedy choice is the last
    input token forever, which makes every greedy answer empty (useless for comparing decoders)."""
    import torch
    from transformers import Qwen2Config, Qwen2ForCausalLM

    tok = qwen_tokenizer(flavor)
    eot, end = tok.convert_tokens_to_ids(IM_END), tok.convert_tokens_to_ids(ENDOFTEXT)
    config = Qwen2Config(
        vocab_size=len(tok),
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=32768,
        rope_theta=1_000_000.0,
        rms_norm_eps=1e-6,
        tie_word_embeddings=tied,
        bos_token_id=end,
        eos_token_id=eot if flavor == "instruct" else end,
    )
    torch.manual_seed(seed)
    model = Qwen2ForCausalLM(config)
    if not tied:
        gen = torch.Generator().manual_seed(seed + 100)
        model.lm_head.weight = torch.nn.Parameter(torch.randn(model.lm_head.weight.shape, generator=gen) * 0.5)
    model.generation_config = qwen_generation_config(tok, flavor)
    folder = Path(root) / ("Qwen2.5-0.5B-Instruct" if flavor == "instruct" else "Qwen2.5-0.5B")
    model.save_pretrained(folder)
    tok.save_pretrained(folder)
    return folder


# --- the local hub cache --------------------------------------------------------------------------


def install_in_hub_cache(folder: str | Path, repo_id: str, cache_dir: str | Path, repo_type: str = "model") -> Path:
    """Copy ``folder`` into a Hugging Face hub cache as ``repo_id`` would be after a download: files in
    ``<type>s--Org--Name/blobs/``, the snapshot ``snapshots/<commit>/`` made of relative symlinks to them, and
    ``refs/main`` naming the commit. ``snapshot_download(repo_id, local_files_only=True)`` then resolves it."""
    folder = Path(folder)
    files = sorted(p for p in folder.rglob("*") if p.is_file())
    commit = fingerprint(repo_id, *[str(p.relative_to(folder)) for p in files], length=40)
    repo = Path(cache_dir) / f"{repo_type}s--{repo_id.replace('/', '--')}"
    snapshot = repo / "snapshots" / commit
    for path in files:
        data = path.read_bytes()
        blob = repo / "blobs" / fingerprint(data, length=64)
        blob.parent.mkdir(parents=True, exist_ok=True)
        blob.write_bytes(data)
        link = snapshot / path.relative_to(folder)
        link.parent.mkdir(parents=True, exist_ok=True)
        link.symlink_to(os.path.relpath(blob, link.parent))
    (repo / "refs").mkdir(parents=True, exist_ok=True)
    (repo / "refs" / "main").write_text(commit)
    return snapshot


def point_hub_cache(monkeypatch, cache_dir: str | Path) -> None:
    """Make huggingface_hub use ``cache_dir`` offline (it reads HF_HUB_CACHE once, at import time)."""
    from huggingface_hub import constants

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_CACHE", str(cache_dir))
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(cache_dir))
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)


@dataclass
class World:
    root: Path
    smoltalk: Path
    ultrafeedback: Path
    instruct: Path
    base: Path
    hub_cache: Path


def build_world(root: str | Path) -> World:
    """Everything, with the two datasets and both models also installed under their real ids in
    ``root/hub-cache`` (pass it to :func:`point_hub_cache`)."""
    root = Path(root)
    world = World(
        root=root,
        smoltalk=build_smoltalk(root),
        ultrafeedback=build_ultrafeedback(root),
        instruct=build_qwen_model(root, "instruct"),
        base=build_qwen_model(root, "base"),
        hub_cache=root / "hub-cache",
    )
    install_in_hub_cache(world.smoltalk, "HuggingFaceTB/smoltalk", world.hub_cache, "dataset")
    install_in_hub_cache(world.ultrafeedback, "HuggingFaceH4/ultrafeedback_binarized", world.hub_cache, "dataset")
    install_in_hub_cache(world.instruct, "Qwen/Qwen2.5-0.5B-Instruct", world.hub_cache)
    install_in_hub_cache(world.base, "Qwen/Qwen2.5-0.5B", world.hub_cache)
    return world
