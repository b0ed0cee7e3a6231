"""A model that is only read (the self-judge, a sampler) is loaded once per kernel and shared."""

import time

from sfdpo_helpers import pipeline, settings


def test_a_frozen_model_is_loaded_once_and_shared_by_every_self_judge(tmp_path, tiny, tokenizer):
    folder = tmp_path / "sft"
    tiny.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    model, _ = pipeline.frozen_model(str(folder))
    assert pipeline.frozen_model(str(folder))[0] is model and not model.training
    cfg = settings.load({"out_dir": str(tmp_path / "run"), "judge": "self"})
    rows = [{"prompt": "Say hi."}]
    assert pipeline.judge(cfg, rows, self_judge=str(folder)).model is model


def test_a_frozen_model_is_loaded_again_after_its_folder_is_rewritten(tmp_path, tiny, tokenizer):
    folder = tmp_path / "sft"
    tiny.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    first, _ = pipeline.frozen_model(str(folder))
    time.sleep(0.01)
    tiny.save_pretrained(folder)  # retrained into the same folder
    assert pipeline.frozen_model(str(folder))[0] is not first
