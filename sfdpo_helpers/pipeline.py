"""The run's files: what each notebook writes, and how a later notebook finds it.

On a laptop the notebooks share one folder; on Colab every notebook runs in a fresh runtime and only
Google Drive persists. So each notebook asks for what it needs here: data (notebook 01's output) is
cheap and is rebuilt when missing; a model is not, and a missing one stops the notebook with one line
naming the notebook to run first.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from . import answers, curriculum, data, models, sampling
from .files import atomic_write_text, fingerprint
from .settings import MissingStepError, RunSettings

DATA_FILES = ("sft_train.jsonl", "sft_eval.jsonl", "pairs_train.jsonl", "eval_prompts.jsonl")
MADE_BY = {"sft": "02_sft", "dpo": "04_dpo", "rsdpo3": "05_rs_dpo", "curriculum_prompts.jsonl": "06_curriculum"}


def prepare_data(cfg: RunSettings, verbose: bool = True) -> dict:
    """Notebook 01 in one call: first turns, truncation, filters, splits, pairs and held-out prompts."""
    tokenizer = models.load_tokenizer(cfg.base_model)
    hub = {"dataset": cfg.sft_dataset, "config": cfg.sft_dataset_config, "seed": cfg.seed}
    sft_rows, sft_report = data.load_sft(cfg.source, limit=cfg.n_sft_rows, **hub)
    prepared, counts = data.prepare_sft(
        sft_rows, tokenizer, cfg.max_prompt_tokens, cfg.max_response_tokens, cfg.min_response_chars
    )
    sft_train, sft_eval = data.train_eval_split(prepared, 0.05, cfg.seed)
    pairs, pair_report = data.load_pairs(cfg.source, limit=cfg.n_pairs, dataset=cfg.pairs_dataset, seed=cfg.seed)
    eval_prompts = data.load_eval_prompts(cfg.source, limit=cfg.n_eval_pool, dataset=cfg.pairs_dataset, seed=cfg.seed)
    for rows, name in zip((sft_train, sft_eval, pairs, eval_prompts), DATA_FILES):
        data.write_jsonl(rows, cfg.data_dir / name)
    if verbose:
        print(sft_report, pair_report, sep="\n")
    return {"sft": counts, "pairs": len(pairs), "eval_prompts": len(eval_prompts)}


def ensure_data(cfg: RunSettings) -> Path:
    """The run's data folder, rebuilt with notebook 01's defaults if a file is missing. A sandbox (an exercise,
    ``reads_from`` set) builds its own data from its own settings and starts with copies of the run's caches."""
    missing = [f for f in DATA_FILES if not (cfg.data_dir / f).exists()]
    if missing:
        print(f"{', '.join(missing)} not in {cfg.data_dir}: preparing the data as notebook 01_data_prep does")
        prepare_data(cfg, verbose=not cfg.reads_from)
    if cfg.reads_from:
        copy_caches(Path(cfg.reads_from), cfg.out)
    return cfg.data_dir


def copy_caches(run: Path, sandbox: Path) -> None:
    """Copy a run's caches (reference log-probs, answers, samples) into a sandbox that has none yet. Every cache is
    keyed by what determines its content (weights, settings, prompts), so a copy is only ever reused where it is
    right, and it saves an exercise the minutes of recomputing what the run already knows."""
    for name in ("responses", "samples"):
        if (run / name).is_dir() and not (sandbox / name).exists():
            shutil.copytree(run / name, sandbox / name)
    for ref in (run / "data").glob("ref_logps-*.json"):
        if not (sandbox / "data" / ref.name).exists():
            shutil.copy2(ref, sandbox / "data" / ref.name)


def require_model(cfg: RunSettings, name: str, override: str = "") -> str:
    """The path of a model an earlier notebook saved (or ``override``), else one line naming that notebook."""
    __tracebackhide__ = True  # IPython shows the message, not this helper's frame
    if override:
        return override
    path = cfg.model_path(name)
    if cfg.reads_from and not (Path(path) / "config.json").exists():  # a sandbox reads the run's models
        path = str(Path(cfg.reads_from) / "models" / name)
    if not (Path(path) / "config.json").exists():
        notebook = MADE_BY.get(name, "the notebook that trains it")
        raise MissingStepError(
            f"no {name!r} model in {path}: run notebook {notebook} first, with the same run settings"
        )
    return path


def require_file(cfg: RunSettings, name: str) -> Path:
    """A data file a later notebook made (e.g. notebook 06's curriculum prompts), else one line naming it."""
    __tracebackhide__ = True
    path = cfg.data_dir / name
    if cfg.reads_from and not path.exists():  # a sandbox reads the run's files
        path = Path(cfg.reads_from) / "data" / name
    if not path.exists():
        notebook = MADE_BY.get(name, "the notebook that writes it")
        raise MissingStepError(f"{path} not found: run notebook {notebook} first, with the same run settings")
    return path


def record(cfg: RunSettings, notebook: str, **figures) -> dict:
    """Write what notebook ``notebook`` found to ``out_dir/findings/<notebook>.json`` (merged with what it wrote
    before) and return the whole record. The notebook's text quotes these figures, and an exercise's check
    compares its sandbox's record with the run's."""
    path = cfg.out / "findings" / f"{notebook}.json"
    found = {**(json.loads(path.read_text()) if path.exists() else {}), **figures}
    atomic_write_text(path, json.dumps(found, indent=1, default=float))
    return found


def findings(out_dir: str | Path, notebook: str) -> dict:
    """What notebook ``notebook`` recorded in the run at ``out_dir`` ({} when it has not run there)."""
    path = Path(out_dir) / "findings" / f"{notebook}.json"
    return json.loads(path.read_text()) if path.exists() else {}


def history(cfg: RunSettings, name: str) -> list[dict]:
    """The training history of run ``name`` (``checkpoints/<name>/history.json``; a sandbox falls back to the run's)."""
    path = cfg.out / "checkpoints" / name / "history.json"
    if cfg.reads_from and not path.exists():
        path = Path(cfg.reads_from) / "checkpoints" / name / "history.json"
    if not path.exists():
        raise MissingStepError(f"{path} not found: run notebook {MADE_BY.get(name, 'that trains it')} first")
    return json.loads(path.read_text())


def new_prompts(cfg: RunSettings, pool: list[dict], categories: list[str], n_per_category: int) -> list[dict]:
    """Notebook 06's new prompts: ``n_per_category`` of each category from ``pool`` (unlabelled rows go through
    the keyword classifier), never a prompt the run evaluates or trains on, seeded by the run."""
    pool = [{**r, "category": c} for r, c in zip(pool, curriculum.categorise(pool)[0])]
    used = ("eval_prompts", "pairs_train", "sft_train")
    exclude = [r["prompt"] for name in used for r in data.read_jsonl(cfg.data_dir / f"{name}.jsonl")]
    return curriculum.pool_prompts(pool, categories, n_per_category, exclude, cfg.seed)


def model_answers(cfg: RunSettings, path: str, prompts: list[str]) -> list[str]:
    """The run's greedy answers of the model at ``path`` to ``prompts``: generated once (the run's decoding
    settings), cached in ``out_dir/responses`` and shared by every notebook and the results summary."""
    return answers.model_answers(
        path, prompts, cfg.out / "responses", cfg.max_new_tokens, cfg.gen_batch_size, cfg.seed,
        precision=cfg.mixed_precision,
    )  # fmt: skip


def shards_folder(cfg: RunSettings, name: str, shard_size: int, key: str = "") -> Path:
    """``out_dir/samples/<name>-<key>``: sampled shards, whose ``key`` (:func:`samples_key`) covers everything
    that decides them. Without a key, the older ``<name>-<precision>-shards-of-<n>``: there
    :func:`sampling.sample_to_shards` refuses shards drawn with other settings (another model, temperature,
    token budget or seed) instead of returning them."""
    if key:
        return cfg.out / "samples" / f"{name}-{key}"
    return cfg.out / "samples" / f"{name}-{models.mixed_precision(cfg.mixed_precision)}-shards-of-{shard_size}"


def samples_key(
    model, tokenizer, prompts: list[str], shard_size: int, seed: int, model_key: str | None = None, **generate_kwargs
) -> str:
    """A short fingerprint of what decides sampled shards: the model's weights and tokenizer (or ``model_key``),
    the prompts, the shard size, the seed and the decoding settings (:func:`sampling.shard_settings`)."""
    settings = sampling.shard_settings(model, tokenizer, seed, model_key, **generate_kwargs)
    return fingerprint(settings, prompts, shard_size, length=12)


def sample_shards(
    cfg: RunSettings, name: str, model, tokenizer, prompts: list[str], shard_size: int, seed: int, **generate_kwargs
) -> list[dict]:
    """:func:`sampling.sample_to_shards` into ``out_dir/samples/<name>-<key>``, the key covering the model's
    weights, the prompts, the seed and every decoding setting (temperatures, token budget, precision, ...): a
    new temperature or a retrained model samples anew, the same call resumes (finished shards are reused)."""
    weights = sampling.model_fingerprint(model, tokenizer)  # once: the folder's key and the folder's record
    key = samples_key(model, tokenizer, prompts, shard_size, seed, weights, **generate_kwargs)
    folder = shards_folder(cfg, name, shard_size, key=key)
    return sampling.sample_to_shards(
        model, tokenizer, prompts, folder, shard_size, seed, model_key=weights, **generate_kwargs
    )


_FROZEN: dict = {}


def frozen_model(path: str):
    """``(model, tokenizer)`` of a saved model that is only read (a judge, a sampler), loaded once per kernel:
    every judge and notebook cell asking for the same folder shares one copy. Retraining into the folder
    (new weight files) loads it again; only the last folder asked for is kept."""
    files = sorted(Path(path).glob("*.safetensors")) if Path(path).is_dir() else []
    key = (str(path), tuple(f.stat().st_mtime_ns for f in files))
    if key not in _FROZEN:
        _FROZEN.clear()
        _FROZEN[key] = (models.load_model(path).eval(), models.load_tokenizer(path))
    return _FROZEN[key]


def judge(cfg: RunSettings, rows: list[dict], self_judge: str = "", budget: int | None = None):
    """The run's judge for these prompts. The self-judge (``judge: self``) is a frozen model loaded from
    ``self_judge`` (by convention the run's SFT model, or the base model before SFT), never a policy that is
    being trained: a judge that changes while it judges measures nothing.

    The gold judge is told the budget the answers were generated under (``budget``, by default the run's
    ``max_new_tokens``; the monitors pass ``monitor_max_new_tokens``); ``budget=0`` for answers that were
    written, not generated (the demo pairs)."""
    from . import judges

    if cfg.judge == "gold":
        budget = cfg.max_new_tokens if budget is None else budget
        tokenizer = models.load_tokenizer(cfg.base_model) if budget else None
        return judges.make_judge("gold", rows, max_new_tokens=budget, tokenizer=tokenizer)
    if cfg.judge != "self":
        return judges.make_judge(cfg.judge, rows, **cfg.judge_options())
    model, tokenizer = frozen_model(self_judge or cfg.base_model)
    return judges.make_judge("self", rows, policy=model, tokenizer=tokenizer)
