"""The real path rehearsed offline, Colab-shaped: notebooks 01→07, each in a fresh kernel whose working
directory holds only that notebook, with the run's files on a separate "Google Drive" folder.

The kernel starts as Colab's does, with ``google.colab`` imported (a stand-in from tests/fake_colab: Drive
is a folder, Secrets a JSON file), so every notebook runs its Colab branch with ``run = "auto"`` → the
``colab`` profile. Its models and datasets are the hub ids of the study (Qwen/Qwen2.5-0.5B, smoltalk,
UltraFeedback, the Skywork 0.6B reward model), resolved offline from a hub cache that holds tiny stand-ins
in the hubs' exact layouts (tests/rehearsal_world.py): the code paths are those of a user with network.
Two runs: the reward-model judge, and NVIDIA's API judge answered by a local fake server with 429s and a
slow answer, its key in Colab's Secrets. Sizes are reduced through the ``run`` parameter only.
"""

import json
import shutil
from pathlib import Path

import pytest
import rehearsal_world as rw

from sfdpo_helpers.main import notebook_paths

HERE = Path(__file__).parent
# the colab profile, smaller: every other value (models, datasets, judge, precision, LoRA) is the profile's
REDUCED = {
    "profile": "colab",
    "n_sft_rows": 40,
    "n_pairs": 40,
    "n_eval_pool": 12,
    "batch_size": 4,
    "micro_batch_size": 2,
    "save_every": 2,
    "sft": {"max_examples": 12},
    "dpo": {"max_examples": 8},
    "rs_dpo": {"max_examples": 8},
    "self_improve": {"epochs": 1.0},
    "max_new_tokens": 8,
    "monitor_max_new_tokens": 8,
    "n_eval_prompts": 6,
    "gen_batch_size": 8,
    "monitor_every": 2,
    "n_monitor_prompts": 3,
    "n_eval_examples": 4,
}
STORY = {
    "03": {"n_self_judge": 2},
    "06": {"n_new_per_category": 3, "min_prompts_per_category": 1},
    "07": {"best_of": [2, 3], "khaki_prompts": 2},
}


def build_reward_model(root: Path) -> Path:
    """A tiny randomly initialised Qwen3 sequence classifier with a Qwen chat template (the Skywork card's kind)."""
    import torch
    from transformers import Qwen3Config, Qwen3ForSequenceClassification

    tok = rw.qwen_tokenizer("instruct")
    config = Qwen3Config(
        vocab_size=len(tok),
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        head_dim=16,
        num_labels=1,
        pad_token_id=tok.pad_token_id,
    )
    torch.manual_seed(1)
    folder = root / "Skywork-Reward-V2-Qwen3-0.6B"
    Qwen3ForSequenceClassification(config).save_pretrained(folder)
    tok.save_pretrained(folder)
    return folder


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    from sfdpo_helpers.judges.reward_model import SMALL_REWARD_MODEL

    world = rw.build_world(tmp_path_factory.mktemp("world"))
    rw.install_in_hub_cache(build_reward_model(world.root), SMALL_REWARD_MODEL, world.hub_cache)
    return world


@pytest.fixture
def colab(world, tmp_path, monkeypatch):
    """A Colab-like environment for the kernels papermill starts: google.colab preloaded, Drive, Secrets."""
    ipython = tmp_path / "ipython" / "profile_default" / "startup"
    ipython.mkdir(parents=True)
    (ipython / "00-colab.py").write_text("import google.colab  # Colab's kernels start with it imported\n")
    monkeypatch.setenv("IPYTHONDIR", str(tmp_path / "ipython"))
    monkeypatch.setenv("PYTHONPATH", str(HERE / "fake_colab"))
    monkeypatch.setenv("SFDPO_COLAB_DRIVE", str(tmp_path / "drive" / "MyDrive"))
    monkeypatch.setenv("HF_DATASETS_CACHE", str(tmp_path / "datasets-cache"))
    monkeypatch.setenv("TOKENIZERS_PARALLELISM", "false")
    rw.point_hub_cache(monkeypatch, world.hub_cache)
    return tmp_path


def run_like_colab(tmp: Path, run: dict) -> Path:
    """Each notebook alone in its own folder and kernel, in order; returns the run folder on "Drive"."""
    import papermill as pm

    for path in notebook_paths():
        runtime = tmp / "runtimes" / path.stem
        runtime.mkdir(parents=True)
        shutil.copy(path, runtime / path.name)
        parameters = {"run": run, **STORY.get(path.name[:2], {})}
        pm.execute_notebook(
            str(runtime / path.name),
            str(runtime / path.name),
            parameters=parameters,
            cwd=str(runtime),
            kernel_name="python3",
            progress_bar=False,
        )
        assert sorted(p.name for p in runtime.iterdir()) == [path.name], "a notebook wrote beside itself"
    return tmp / "drive" / "MyDrive" / "sfdpo" / "runs" / "colab"


def outputs(path: Path) -> str:
    """Everything a notebook printed or displayed as text or Markdown."""
    texts = []
    for cell in json.loads(path.read_text())["cells"]:
        for out in cell.get("outputs", []):
            texts += [out.get("text", ""), out.get("data", {}).get("text/markdown", "")]
    return "\n".join("".join(t) if isinstance(t, list) else t for t in texts)


def check_the_whole_run(tmp: Path, drive: Path, judge: str) -> None:
    for name in ("sft", "dpo", "rsdpo1", "rsdpo2", "rsdpo3", "selfimprove1"):
        assert (drive / "models" / name / "model.safetensors").exists(), name
    for name in ("03_win_rates.md", "05_table2_rs_dpo.csv", "06_category_loss_rates.csv", "07_table3.md"):
        assert (drive / "figures" / name).exists(), name
    first = outputs(tmp / "runtimes" / "01_data_prep" / "01_data_prep.ipynb")
    assert "run: profile 'colab'" in first and str(drive) in first
    assert "HuggingFaceTB/smoltalk" in first and "sample of 40" in first  # the hub id, a seeded sample
    assert "skipped" in first  # the stand-in smoltalk has malformed rows: counted, not silent
    config = json.loads((drive / "models" / "sft" / "config.json").read_text())
    assert config["architectures"] == ["Qwen2ForCausalLM"] and config["num_hidden_layers"] == 2  # the stand-in Qwen
    assert f"Judge: `{judge}`" in outputs(tmp / "runtimes" / "03_judging" / "03_judging.ipynb")


@pytest.mark.slow
def test_colab_shaped_run_with_the_reward_model_judge(colab):
    from sfdpo_helpers import results, settings

    drive = run_like_colab(colab, REDUCED)
    check_the_whole_run(colab, drive, "reward")
    # the results summary judges with the run's judge: UltraFeedback prompts carry no IFEval instructions
    table = results.summarise(settings.load({**REDUCED, "out_dir": str(drive), "figures_dir": str(drive / "figures")}))
    assert set(table[table.baseline == "base"].model) >= {"sft", "dpo", "rsdpo3", "selfimprove1"}
    text = (drive / "results.md").read_text()
    assert "judge `reward`" in text and "IFEval-style accuracy" not in text


@pytest.mark.slow
def test_colab_shaped_run_with_the_api_judge_key_in_colab_secrets(colab, monkeypatch):
    from fake_openai_server import FakeRewardServer

    key = "nvapi-rehearsal-0123456789abcdef"
    (colab / "secrets.json").write_text(json.dumps({"NVIDIA_API_KEY": key}))
    monkeypatch.setenv("SFDPO_COLAB_SECRETS", str(colab / "secrets.json"))
    monkeypatch.delenv("NVIDIA_API_KEY", raising=False)
    with FakeRewardServer(key=key, fail_429=2, slow_seconds=0.3, retry_after="0.01") as server:
        api = {"judge": "api", "api_base_url": server.base_url, "api_requests_per_minute": None}
        drive = run_like_colab(colab, {**REDUCED, **api})
        assert server.requests > 10 and any(r["status"] == 429 for r in server.log)
    check_the_whole_run(colab, drive, "api")
    leaked = [str(p) for p in colab.rglob("*") if p.is_file() and key.encode() in p.read_bytes()]
    assert leaked == [str(colab / "secrets.json")], leaked  # the key is read from Secrets, written nowhere
