"""Cached answers: one shard per generation batch, reused without loading the model, never stale."""

import pytest

from sfdpo_helpers import answers, models

PROMPTS = ["say hi", "count to three", "name a colour", "write one word", "spell cat"]


def test_a_shard_is_one_batch_and_a_cached_rerun_loads_nothing(tmp_path, monkeypatch):
    first = answers.model_answers("tiny", PROMPTS, tmp_path, max_new_tokens=3, batch_size=2)
    (folder,) = tmp_path.iterdir()
    assert sorted(p.name for p in folder.glob("shard-*.jsonl")) == [f"shard-0000{i}.jsonl" for i in range(3)]

    def no_load(*args, **kwargs):
        raise AssertionError("every answer is cached: nothing should be loaded")

    monkeypatch.setattr(models, "load_model", no_load)
    assert answers.model_answers("tiny", PROMPTS, tmp_path, max_new_tokens=3, batch_size=2) == first


def test_another_batch_size_gets_its_own_folder_instead_of_clashing_shards(tmp_path):
    by_two = answers.model_answers("tiny", PROMPTS, tmp_path, max_new_tokens=3, batch_size=2)
    by_eight = answers.model_answers("tiny", PROMPTS, tmp_path, max_new_tokens=3, batch_size=8)
    folders = sorted(tmp_path.iterdir())
    assert len(folders) == 2
    assert sorted(len(list(f.glob("shard-*.jsonl"))) for f in folders) == [1, 3]
    assert by_eight == by_two  # greedy answers do not depend on the batch (left padding, explicit positions)


def test_new_weights_in_the_same_folder_are_never_answered_from_the_cache(tmp_path, tokenizer):
    model_dir = tmp_path / "model"
    for seed in (0, 1):
        models.tiny_model(tokenizer, seed=seed).save_pretrained(model_dir)
        tokenizer.save_pretrained(model_dir)
        answers.model_answers(str(model_dir), PROMPTS[:2], tmp_path / "cache", max_new_tokens=3, batch_size=2)
    assert len(list((tmp_path / "cache").iterdir())) == 2


def test_bf16_and_fp32_answers_are_cached_apart(tmp_path, monkeypatch):
    monkeypatch.setattr(models, "cpu_has_native_bf16", lambda: True)  # "auto" is bf16 on this CPU
    auto = answers.model_answers("tiny", PROMPTS, tmp_path, max_new_tokens=3, batch_size=8)
    fp32 = answers.model_answers("tiny", PROMPTS, tmp_path, max_new_tokens=3, batch_size=8, precision="no")
    bf16 = answers.model_answers("tiny", PROMPTS, tmp_path, max_new_tokens=3, batch_size=8, precision="bf16")
    assert len(list(tmp_path.iterdir())) == 2  # "auto" resolved to bf16: the same folder as "bf16"
    assert auto == bf16 and len(fp32) == len(PROMPTS)


@pytest.mark.parametrize("sizes", [(0, None), (-1, None), (2, 0), (2, -3)])
def test_batch_and_shard_sizes_must_be_positive(tmp_path, sizes):
    batch_size, shard_size = sizes
    with pytest.raises(ValueError, match="batch_size must be positive"):
        answers.model_answers("tiny", PROMPTS, tmp_path, max_new_tokens=3, batch_size=batch_size, shard_size=shard_size)


def test_lengths_median_and_the_cap(tokenizer):
    texts = ["a", "a b c", "a b c d e f g h"]
    lengths = answers.token_lengths(tokenizer, texts)
    assert lengths == [len(tokenizer(t, add_special_tokens=False)["input_ids"]) for t in texts]
    cap = lengths[1] + 2  # the middle answer is 2 tokens short of the cap: it reached it
    assert [answers.reached_cap(n, cap) for n in lengths] == [n >= lengths[1] for n in lengths]
    assert answers.length_summary(lengths, cap) == {"median tokens": lengths[1], "at the cap": 2 / 3}
    assert answers.length_summary([3, 10], 100) == {"median tokens": 6.5, "at the cap": 0.0}
    with pytest.raises(ValueError, match="no answers"):
        answers.length_summary([], 96)
