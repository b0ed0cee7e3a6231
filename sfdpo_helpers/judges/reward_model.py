"""A local Hugging Face reward model as a judge, loaded only where it fits.

Two kinds of reward model are supported, each fed the way its model card does:

* **Sequence classifiers** (one label; the score is the logit of the last real
  token). The recommended one, :data:`SMALL_REWARD_MODEL`, is
  ``Skywork/Skywork-Reward-V2-Qwen3-0.6B``: a ``Qwen3ForSequenceClassification``
  (Bradley-Terry) on ``Qwen/Qwen3-0.6B`` (28 layers, hidden 1024, 16 query / 8
  KV heads of 128, MLP 3072, vocabulary 151,936, tied embeddings). Counted from
  that config: 596,050,944 parameters, so about 1.2 GB of weights in bf16 and
  2.4 GB in fp32 -- with a 0.5B policy it fits a 16 GB Colab T4 (fp32 there,
  see below). Licence: Apache-2.0 (the series' Qwen3 cards and the base
  model). Its card (SkyworkAI/Skywork-Reward-V2 README, "Simple Example in
  transformers"; read through the search tool's code and pages corpora) renders
  ``[user, assistant]`` with ``apply_chat_template(tokenize=False)``, removes a
  leading BOS text "to remove the potential duplicate bos token", tokenizes
  with the tokenizer's own special tokens and reads ``logits[0][0]``; it asks
  for no system prompt and inputs within 16,384 tokens. The same card lists
  the alternatives ``Skywork/Skywork-Reward-V2-Qwen3-1.7B`` (about 3.4 GB bf16,
  6.9 GB fp32; average 75.2 vs 70.9 over its seven benchmarks) and
  ``Skywork/Skywork-Reward-V2-Llama-3.2-1B`` (Llama 3.2 licence). Older and
  without a chat template: ``OpenAssistant/reward-model-deberta-v3-large-v2``
  (DeBERTa-v3-large, about 0.4B), fed the (question, answer) text pair.
  Here the duplicate BOS is dropped on the token ids rather than on the text,
  which gives the card's ids for Llama-style tokenizers and keeps templates
  whose first token happens to be the BOS token (SmolLM2's ``<|im_start|>``).
* **Causal LMs in NVIDIA's -Reward-HF style**: ``nvidia/Llama-3.1-Nemotron-70B-
  Reward-HF`` is a ``LlamaForCausalLM`` (Llama-3.1-70B-Instruct base, 70.6B
  parameters: about 141 GB in bf16, 282 GB in fp32, about 46 GB in 4-bit;
  per its card two 80 GB GPUs and 150 GB of disk), licence Llama 3.1, conversations up to
  4,096 tokens. Its card tokenizes with ``apply_chat_template(tokenize=True,
  add_generation_prompt=False)`` (the template writes the single BOS) and
  reads the reward as ``generate(max_new_tokens=1, output_scores=True)``'s
  ``scores[0][0][0]``: the logit of token id 0 at the next position (NVIDIA
  copied the reward head into that row of the output layer, HF discussion #7).
  The same model is hosted by NVIDIA: use ``judge="api"`` instead on small GPUs.

Memory (issue #2): before ``from_pretrained`` the weights' size is estimated
(the safetensors index's ``total_size`` when the files are local, else the
parameter count of the architecture built on the meta device, which allocates
nothing) and :func:`choose_placement` decides: one GPU in the judge dtype,
several GPUs with ``device_map="auto"``, 4-bit with bitsandbytes, or a clear
error -- never a model that does not fit. The judge dtype is bf16 on GPUs of
compute capability >= 8.0 and fp32 elsewhere (fp16 overflows in some reward
heads; T4s have no bf16).

Padding (issue #12): classifiers pool the rightmost token that is not
``config.pad_token_id`` while batches are padded with the tokenizer's pad id;
when the two differ, padding positions get pooled. The constructor gives the
tokenizer a pad token (its eos) if it has none and sets ``config.pad_token_id``
to the tokenizer's. Classifier batches are right-padded, causal-LM batches
left-padded with position ids (``collators.pad``), so batched scores equal
one-at-a-time scores.
"""

from __future__ import annotations

import importlib.util
import json
import os
import warnings
from collections.abc import Sequence
from dataclasses import dataclass

from ._common import chat_text, check_lengths, last_logits, model_device, pad_id

SMALL_REWARD_MODEL = "Skywork/Skywork-Reward-V2-Qwen3-0.6B"
LARGE_REWARD_MODEL = "nvidia/Llama-3.1-Nemotron-70B-Reward-HF"

HEADROOM = 1.2  # weights x 1.2: a batch's activations, the CUDA context, fragmentation
FOUR_BIT_BYTES_PER_PARAM = 0.65  # 4-bit weights + block scales + layers bitsandbytes keeps unquantised
_DTYPE_BYTES = {"float32": 4, "bfloat16": 2, "float16": 2}
_GB = 1e9


class ModelDoesNotFitError(RuntimeError):
    """The reward model does not fit this machine's memory in any way this judge can load it."""


@dataclass(frozen=True)
class Placement:
    """Where a model goes: ``kind`` is 'gpu', 'multi_gpu', '4bit' or 'cpu'; ``device_map`` for from_pretrained."""

    kind: str
    device_map: str
    weight_bytes: int


def judge_dtype(compute_capability: tuple[int, int] | None) -> str:
    """bf16 on GPUs with compute capability >= 8.0 (Ampere and newer), fp32 on older GPUs and on CPU."""
    return "bfloat16" if compute_capability is not None and tuple(compute_capability) >= (8, 0) else "float32"


def choose_placement(
    bytes_needed: int,
    gpu_free: Sequence[int],
    cpu_free: int,
    *,
    accelerate: bool,
    bitsandbytes: bool,
    bytes_4bit: int | None = None,
    name: str = "the reward model",
    dtype: str = "bfloat16",
) -> Placement:
    """Decide how to load weights of ``bytes_needed`` (judge dtype) given free memory; pure, no torch.

    ``gpu_free`` holds each GPU's free bytes (empty: no GPU, load on CPU). Order:
    the GPU with most free memory; all GPUs with ``device_map="auto"`` (needs
    accelerate); 4-bit weights of ``bytes_4bit`` (needs bitsandbytes); else
    :class:`ModelDoesNotFitError`. Every option keeps ``HEADROOM`` spare.
    """
    gpus = list(gpu_free)
    if not gpus:
        if cpu_free >= bytes_needed * HEADROOM:
            return Placement("cpu", "cpu", int(bytes_needed))
        raise ModelDoesNotFitError(_too_large(name, dtype, bytes_needed, gpus, cpu_free, bitsandbytes, bytes_4bit))
    best = max(range(len(gpus)), key=gpus.__getitem__)
    if gpus[best] >= bytes_needed * HEADROOM:
        return Placement("gpu", f"cuda:{best}", int(bytes_needed))
    if accelerate and sum(gpus) >= bytes_needed * HEADROOM:
        return Placement("multi_gpu", "auto", int(bytes_needed))
    if bitsandbytes and bytes_4bit is not None:
        if gpus[best] >= bytes_4bit * HEADROOM:
            return Placement("4bit", f"cuda:{best}", int(bytes_4bit))
        if accelerate and sum(gpus) >= bytes_4bit * HEADROOM:
            return Placement("4bit", "auto", int(bytes_4bit))
    raise ModelDoesNotFitError(_too_large(name, dtype, bytes_needed, gpus, cpu_free, bitsandbytes, bytes_4bit))


def _gb(n_bytes: float) -> str:
    return f"{n_bytes / _GB:.1f} GB" if n_bytes >= 0.1 * _GB else f"{n_bytes / _GB:.2g} GB"


def _too_large(name, dtype, bytes_needed, gpus, cpu_free, bitsandbytes, bytes_4bit) -> str:
    need = f"{name} needs about {_gb(bytes_needed * HEADROOM)} in {dtype} (weights + {HEADROOM - 1:.0%})"
    if gpus:
        have = f"this machine has {_gb(sum(gpus))} of free GPU memory ({len(gpus)} GPU(s), largest {_gb(max(gpus))})"
    else:
        have = f"this machine has no GPU and {_gb(cpu_free)} of free RAM"
    four = ""
    if gpus and bytes_4bit is not None:
        four = f"; 4-bit would need about {_gb(bytes_4bit * HEADROOM)}"
        four += "" if bitsandbytes else " (and bitsandbytes is not installed)"
    return (
        f"{need}; {have}{four}. Use judge='api' (NVIDIA's hosted Nemotron reward) or a small reward model "
        f"such as {SMALL_REWARD_MODEL!r} (0.6B: about 1.2 GB in bf16, 2.4 GB in fp32)"
    )


def _cpu_free_bytes() -> int:
    """MemAvailable from /proc/meminfo (page cache counts as free), else the free physical pages."""
    try:
        with open("/proc/meminfo", encoding="ascii") as handle:
            for line in handle:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")


def _gpu_free_bytes(device) -> list[int]:
    """Free bytes of each visible GPU; none when ``device`` is 'cpu' or CUDA is absent."""
    import torch

    if str(device) == "cpu" or not torch.cuda.is_available():
        return []
    return [torch.cuda.mem_get_info(i)[0] for i in range(torch.cuda.device_count())]


def _local_file(name: str, filename: str) -> str | None:
    """``filename`` of a model folder or of the hub cache, never downloaded here."""
    if os.path.isdir(name):
        path = os.path.join(name, filename)
        return path if os.path.exists(path) else None
    from huggingface_hub import try_to_load_from_cache

    path = try_to_load_from_cache(name, filename)
    return path if isinstance(path, str) else None


def _stored_bytes(name: str) -> int | None:
    """Size of the safetensors weights when known locally: the index's total_size, or the single file."""
    index = _local_file(name, "model.safetensors.index.json")
    if index:
        with open(index, encoding="utf-8") as handle:
            return int(json.load(handle)["metadata"]["total_size"])
    single = _local_file(name, "model.safetensors")
    return os.path.getsize(single) if single else None


def _dtype_name(dtype) -> str | None:
    if dtype is None:
        return None
    return str(dtype).removeprefix("torch.")


def parameter_count(name: str, config, auto_class, trust_remote_code: bool = False) -> int:
    """Parameters of the model ``name``, without loading its weights.

    From the safetensors index (stored bytes / bytes of the stored dtype; an
    unknown dtype counts as 2 bytes, which can only overestimate fp32 files) when
    it is local, else counted on the architecture built on the meta device.
    """
    stored = _stored_bytes(name)
    if stored is not None:
        stored_dtype = _dtype_name(getattr(config, "dtype", None) or getattr(config, "torch_dtype", None))
        return int(stored / _DTYPE_BYTES.get(stored_dtype, 2))
    import torch

    with torch.device("meta"):
        model = auto_class.from_config(config, trust_remote_code=trust_remote_code)
    return sum(p.numel() for p in model.parameters())


def load_reward_model(name: str, dtype=None, device=None, trust_remote_code: bool = False):
    """``(model, placement)``: the reward model ``name`` loaded where :func:`choose_placement` says it fits."""
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM, AutoModelForSequenceClassification

    config = AutoConfig.from_pretrained(name, trust_remote_code=trust_remote_code)
    causal = any(a.endswith("ForCausalLM") for a in (config.architectures or []))
    auto = AutoModelForCausalLM if causal else AutoModelForSequenceClassification
    gpus = _gpu_free_bytes(device)
    if dtype is None:
        best = max(range(len(gpus)), key=gpus.__getitem__) if gpus else None
        dtype = judge_dtype(torch.cuda.get_device_capability(best) if gpus else None)
    dtype_name = _dtype_name(dtype)
    if dtype_name not in _DTYPE_BYTES:
        raise ValueError(f"reward model dtype must be one of {sorted(_DTYPE_BYTES)}, got {dtype!r}")
    n_params = parameter_count(name, config, auto, trust_remote_code)
    placement = choose_placement(
        n_params * _DTYPE_BYTES[dtype_name],
        gpus,
        _cpu_free_bytes(),
        accelerate=importlib.util.find_spec("accelerate") is not None,
        bitsandbytes=importlib.util.find_spec("bitsandbytes") is not None,
        bytes_4bit=int(n_params * FOUR_BIT_BYTES_PER_PARAM),
        name=name,
        dtype=dtype_name,
    )
    kwargs = {"dtype": getattr(torch, dtype_name), "trust_remote_code": trust_remote_code}
    if placement.kind != "cpu":
        kwargs["device_map"] = placement.device_map
    if placement.kind == "4bit":
        from transformers import BitsAndBytesConfig

        kwargs["quantization_config"] = BitsAndBytesConfig(
            load_in_4bit=True, bnb_4bit_compute_dtype=getattr(torch, dtype_name)
        )
    return auto.from_pretrained(name, **kwargs), placement


def align_pad_token(model, tokenizer) -> None:
    """Make the classifier pool the last real token: the tokenizer gets a pad token (its eos) if it
    has none, and ``config.pad_token_id`` is set to the tokenizer's when it is None or differs."""
    if tokenizer.pad_token_id is None:
        if tokenizer.eos_token is None:
            raise ValueError("the reward model's tokenizer has neither a pad nor an eos token: set tokenizer.pad_token")
        tokenizer.pad_token = tokenizer.eos_token
    config = model.config.get_text_config() if hasattr(model.config, "get_text_config") else model.config
    if config.pad_token_id != tokenizer.pad_token_id:
        warnings.warn(
            f"reward model: config.pad_token_id={config.pad_token_id} but the tokenizer pads with id "
            f"{tokenizer.pad_token_id}; setting config.pad_token_id={tokenizer.pad_token_id} so the classifier "
            "pools the last real token of each row, not a padding position",
            UserWarning,
            stacklevel=3,
        )
        config.pad_token_id = tokenizer.pad_token_id
        model.config.pad_token_id = tokenizer.pad_token_id


class RewardModelJudge:
    """A local Hugging Face reward model: one scalar per (prompt, response), comparable within a prompt.

    ``model_name_or_model`` is a hub id or folder (loaded with
    :func:`load_reward_model`: fits-or-fails, judge dtype, tokenizer from the
    same place) or a model object together with its ``tokenizer``. ``device``:
    for a name, None (best fit over the GPUs, else CPU) or 'cpu'; for a model
    object, where to move it. ``max_length`` cuts longer inputs at the right.
    ``trust_remote_code`` stays False unless the caller passes True.
    """

    def __init__(
        self,
        model_name_or_model,
        tokenizer=None,
        batch_size: int = 8,
        device=None,
        max_length: int | None = None,
        dtype=None,
        trust_remote_code: bool = False,
    ):
        self.name, self.placement = None, None
        if isinstance(model_name_or_model, str | os.PathLike):
            self.name = os.fspath(model_name_or_model)
            model, self.placement = load_reward_model(self.name, dtype, device, trust_remote_code)
            if tokenizer is None:
                from transformers import AutoTokenizer

                tokenizer = AutoTokenizer.from_pretrained(self.name, trust_remote_code=trust_remote_code)
        else:
            model = model_name_or_model
            if tokenizer is None:
                raise ValueError("pass the tokenizer together with a model object")
            if device is not None:
                model = model.to(device)
        self.model, self.tokenizer = model.eval(), tokenizer
        self.batch_size, self.max_length = int(batch_size), max_length
        self.causal_lm = type(model).__name__.endswith("ForCausalLM")
        self.chat = bool(getattr(tokenizer, "chat_template", None))
        if self.causal_lm and not self.chat:
            raise ValueError(f"{self._label()}: a causal-LM reward model needs a tokenizer with a chat template")
        labels = getattr(model.config, "num_labels", 1)
        if not self.causal_lm:
            if labels != 1:
                raise ValueError(f"{self._label()}: expected a reward model with num_labels=1, got {labels}")
            align_pad_token(model, tokenizer)

    def _label(self) -> str:
        return self.name or type(self.model).__name__

    def __repr__(self) -> str:
        where = f", {self.placement.kind}" if self.placement else ""
        return f"RewardModelJudge({self._label()!r}, batch_size={self.batch_size}{where})"

    def _ids(self, prompt: str, response: str) -> dict[str, list[int]]:
        """Token ids as the model card builds them (see the module docstring)."""
        tok = self.tokenizer
        if not self.chat:  # text pair, as OpenAssistant's DeBERTa reward models are fed
            enc = tok(prompt, response, truncation=bool(self.max_length), max_length=self.max_length)
            return {k: list(enc[k]) for k in ("input_ids", "token_type_ids") if k in enc}
        text = chat_text(tok, [{"role": "user", "content": prompt}, {"role": "assistant", "content": response}], False)
        # Nemotron: apply_chat_template(tokenize=True) adds nothing; Skywork: the tokenizer's own specials
        ids = tok(text, add_special_tokens=not self.causal_lm)["input_ids"]
        bos = tok.bos_token_id
        if bos is not None and len(ids) > 1 and ids[0] == ids[1] == bos:
            ids = ids[1:]  # the card's "potential duplicate bos token"
        return {"input_ids": ids[: self.max_length] if self.max_length else ids}

    def _score_batch(self, prompts, responses) -> list[float]:
        import torch

        from ..collators import pad

        rows = [self._ids(p, r) for p, r in zip(prompts, responses)]
        pad_token_id = pad_id(self.tokenizer)
        if self.causal_lm:
            return last_logits(self.model, [r["input_ids"] for r in rows], pad_token_id)[:, 0].tolist()
        batch = pad([r["input_ids"] for r in rows], pad_token_id, side="right")
        inputs = {"input_ids": batch["input_ids"], "attention_mask": batch["attention_mask"]}
        if "token_type_ids" in rows[0]:
            inputs["token_type_ids"] = pad([r["token_type_ids"] for r in rows], 0, side="right")["input_ids"]
        device = model_device(self.model)
        with torch.no_grad():
            logits = self.model(**{k: v.to(device) for k, v in inputs.items()}).logits
        return logits[:, 0].float().tolist()

    def score(self, prompts: Sequence[str], responses: Sequence[str]) -> list[float]:
        """Reward-model logit for each (prompt, response) pair."""
        check_lengths(prompts, responses)
        out: list[float] = []
        for start in range(0, len(prompts), self.batch_size):
            stop = start + self.batch_size
            out.extend(self._score_batch(prompts[start:stop], responses[start:stop]))
        return out
