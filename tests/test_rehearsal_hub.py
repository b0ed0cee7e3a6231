"""The hub path rehearsed offline: smoltalk, UltraFeedback and Qwen2.5 in their hub layouts (tests/rehearsal_world.py),
read through the same functions and the same ``load_dataset`` / ``snapshot_download`` calls the notebooks make."""

import re

import pytest
import rehearsal_world as rw

from sfdpo_helpers import data, models
from sfdpo_helpers.models import HubUnavailableError


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    return rw.build_world(tmp_path_factory.mktemp("rehearsal"))


@pytest.fixture(autouse=True)
def quiet_datasets(monkeypatch, tmp_path):
    """Keep datasets' lock files out of the user's cache, and skip the 5 s it sleeps after a shuffled
    multi-shard stream (a pyarrow thread-shutdown workaround)."""
    import datasets

    monkeypatch.setattr(datasets.config, "HF_DATASETS_CACHE", str(tmp_path / "datasets-cache"))
    monkeypatch.setattr(datasets.config, "SLEEP_TIME_ON_THREADS_SHUTDOWN", 0)


def good_turns(split="train"):
    return [turn for turn in rw.smoltalk_first_turns(split) if turn is not None]


def sample(world, seed, n=10):
    rows, report = data.load_sft("hub", dataset=str(world.smoltalk), limit=n, seed=seed)
    return [(r["prompt"], r["response"]) for r in rows], report


def test_seeded_sample_same_seed_same_rows_other_seed_other_rows(world):
    first, report = sample(world, seed=0)
    again, _ = sample(world, seed=0)
    other, _ = sample(world, seed=1)
    assert report.seen == 10 and first == again and first != other
    assert set(first) <= set(good_turns()) and set(other) <= set(good_turns())
    indices = sorted(int(re.search(r"\[train (\d+)\]", prompt).group(1)) for prompt, _ in first)
    assert indices != list(range(len(indices))), "a seeded sample, not the first rows of the split"
    assert len({i // 40 for i in indices}) > 1, f"rows from one of the 3 parquet shards only: {indices}"


def test_sample_streams_and_holds_at_most_buffer_plus_n_rows(world, monkeypatch):
    """The stream is what load_dataset(..., streaming=True) returns; a counting stream of 1,000 rows shows how
    many rows the sample pulled: the 20-row shuffle buffer plus the 5 taken, never the split."""
    import datasets

    pulled, calls = [], []

    def rows():
        for i in range(1000):
            pulled.append(i)
            yield {"messages": [{"role": "user", "content": f"q{i}"}, {"role": "assistant", "content": f"a{i}"}]}

    def fake_load_dataset(path, name=None, **kwargs):
        calls.append((path, name, kwargs))
        return datasets.IterableDataset.from_generator(rows)

    monkeypatch.setattr(datasets, "load_dataset", fake_load_dataset)
    got = list(data.hub_rows(str(world.smoltalk), "train", n=5, config="all", seed=3, buffer_size=20))
    assert len(got) == 5 and len(pulled) <= 20 + 5 + 1
    assert calls == [(str(world.smoltalk), "all", {"split": "train", "streaming": True})]


def test_whole_split_first_turns_system_tasks_folded_malformed_counted(world):
    rows, report = data.load_sft("hub", dataset=str(world.smoltalk))
    assert [(r["prompt"], r["response"]) for r in rows] == good_turns()  # stored order, first turn of each
    tasks = {source: task for source, task, _, _ in rw.SYSTEM_TASKS}
    for row, raw in zip(
        rows, [r for r, turn in zip(rw.smoltalk_rows("train"), rw.smoltalk_first_turns("train")) if turn]
    ):
        if raw["source"] in tasks:  # smol-rewrite, smol-summarize, apigen-80k: the task is the system message
            assert row["prompt"].startswith(tasks[raw["source"]] + "\n\n") and row["prompt"].endswith(
                raw["messages"][1]["content"]
            )
    assert not any(r["prompt"].startswith("You are a helpful assistant") for r in rows)  # a default persona: dropped
    systems = [*tasks.values(), "You are a patient teacher."]
    folded = sum(1 for prompt, _ in good_turns() if any(prompt.startswith(f"{s}\n\n") for s in systems))
    assert folded > 0 and report.changed[data.SYSTEM_FOLDED] == folded
    assert f"kept    {folded:5d}  {data.SYSTEM_FOLDED}" in str(report)  # what 01's filter report prints
    assert report.seen == rw.SMOLTALK_SIZES["train"] and sum(report.skipped.values()) == len(rw.SMOLTALK_BAD)
    assert sorted(report.examples.values()) == sorted(rw.SMOLTALK_BAD)  # each malformed row, by its index
    assert "[all/train]" in report.dataset


def test_other_config_and_split_of_the_same_repo(world):
    rows, report = data.load_sft("hub", dataset=str(world.smoltalk), config="everyday-conversations", split="test")
    assert report.seen == 3 and all(r["prompt"] for r in rows)


def test_ultrafeedback_pairs_parsed_and_bad_pairs_counted(world):
    pairs, report = data.load_pairs("hub", dataset=str(world.ultrafeedback))
    expected = [p for p in rw.ultrafeedback_pairs("train_prefs") if p is not None]
    assert [(p["prompt"], p["chosen"], p["rejected"]) for p in pairs] == expected
    assert report.skipped["chosen == rejected"] == 1 and sum(report.skipped.values()) == len(rw.ULTRAFEEDBACK_BAD)


def test_eval_prompts_come_from_test_prefs(world):
    prompts = data.load_eval_prompts("hub", limit=5, dataset=str(world.ultrafeedback), seed=2)
    test_prompts = {r["prompt"] for r in rw.ultrafeedback_rows("test_prefs")}
    assert len(prompts) == 5 and {p["prompt"] for p in prompts} <= test_prompts
    assert prompts == data.load_eval_prompts("hub", limit=5, dataset=str(world.ultrafeedback), seed=2)


def test_real_ids_resolve_offline_from_the_hub_cache(world, monkeypatch):
    """The study's ids, not folders: models through snapshot_download(local_files_only=True), datasets through
    the same call for dataset repos, then the same load_dataset call as online."""
    rw.point_hub_cache(monkeypatch, world.hub_cache)
    model = models.load_model(models.STUDY_INSTRUCT, device="cpu")
    tok = models.load_tokenizer(models.STUDY_INSTRUCT)
    assert type(model).__name__ == "Qwen2ForCausalLM" and model.generation_config.repetition_penalty == 1.1
    assert models._resolve(models.STUDY_BASE).startswith(str(world.hub_cache))
    assert tok.eos_token == "<|im_end|>" and tok.pad_token == "<|endoftext|>"
    rendered = tok.apply_chat_template([{"role": "user", "content": "Hi"}], tokenize=False, add_generation_prompt=True)
    assert rendered.startswith("<|im_start|>system\nYou are Qwen, created by Alibaba Cloud.")
    assert models.load_tokenizer(models.STUDY_BASE).eos_token == "<|endoftext|>"
    rows, report = data.load_sft("hub", limit=6, seed=0)  # dataset=HuggingFaceTB/smoltalk, config "all"
    assert (
        report.dataset.startswith(data.SMOLTALK)
        and report.seen == 6
        and set((r["prompt"], r["response"]) for r in rows) <= set(good_turns())
    )
    pairs, _ = data.load_pairs("hub")  # HuggingFaceH4/ultrafeedback_binarized, train_prefs
    assert len(pairs) == rw.ULTRAFEEDBACK_SIZES["train_prefs"] - len(rw.ULTRAFEEDBACK_BAD)


def test_missing_dataset_config_split_and_folder_are_named(world, monkeypatch):
    rw.point_hub_cache(monkeypatch, world.hub_cache)
    with pytest.raises(HubUnavailableError) as err:
        data.load_sft("hub", dataset="HuggingFaceTB/no-such-dataset")
    text = str(err.value)
    assert "HuggingFaceTB/no-such-dataset" in text and "not in the local hub cache" in text
    assert "LocalEntryNotFoundError" in text and "source='demo'" in text and "\n" not in text
    with pytest.raises(HubUnavailableError, match=r"unknown config \(available: \['all', 'everyday-conversations'\]\)"):
        data.load_sft("hub", dataset=str(world.smoltalk), config="everything")
    with pytest.raises(HubUnavailableError, match=r"unknown split \(available: \['train', 'test'\]\).*ValueError"):
        data.load_sft("hub", dataset=str(world.smoltalk), split="validation")
    with pytest.raises(FileNotFoundError, match="dataset folder '/no/such/smoltalk' does not exist"):
        data.load_sft("hub", dataset="/no/such/smoltalk")


def test_missing_model_is_named_with_its_cause(world, monkeypatch):
    rw.point_hub_cache(monkeypatch, world.hub_cache)
    with pytest.raises(HubUnavailableError) as err:
        models.load_model("Qwen/Qwen2.5-7B-Instruct", device="cpu")
    text = str(err.value)
    assert "Qwen/Qwen2.5-7B-Instruct" in text and "not in the local hub cache" in text
    assert "[LocalEntryNotFoundError: " in text and "model='embedded'" in text
    assert type(err.value.cause).__name__ == "LocalEntryNotFoundError"
