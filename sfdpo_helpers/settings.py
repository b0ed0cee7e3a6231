"""Run-wide settings: one record, one file, the same for every notebook of a run.

A *run* (the offline demo on a laptop, a Colab session, the study on a GPU box) fixes where files go,
which model and data it starts from, the judge, precision, LoRA and batching. Those values live in
one YAML file whose top-level key is ``run``; every notebook takes it as its ``run`` parameter:

* ``run = "auto"``: the ``colab`` profile on Google Colab, else ``offline``;
* ``run = "offline" | "colab" | "study"``: a profile shipped in ``sfdpo_helpers/profiles/``;
* ``run = "my_run.yaml"``: a file of your own;
* ``run = {"profile": "study", "out_dir": "runs/qwen"}``: a profile with some values changed.

Papermill passes a file to every notebook with ``-f my_run.yaml`` (its ``run:`` mapping becomes the
``run`` parameter); the main job does the same with ``--run``. Each notebook's parameters cell keeps
only the few settings its story is about (β in notebook 04, the mixtures in 05, ...).

:func:`setup` is the one line after a notebook's parameters: it validates ``run`` (an unknown key or a
value of the wrong type is one clear error), checks the values papermill injected against the
notebook's own parameters, creates the output folders, seeds torch and returns the :class:`RunSettings`.
"""

from __future__ import annotations

import ast
import dataclasses
import os
import re
import sys
import typing
from dataclasses import dataclass, field
from pathlib import Path

import yaml

PROFILES = Path(__file__).parent / "profiles"
ROOT = Path(__file__).resolve().parents[1]
COLAB_DRIVE = Path(os.environ.get("SFDPO_COLAB_DRIVE", "/content/drive/MyDrive"))  # where Colab mounts Drive
CHOICES = {
    "mixed_precision": {"auto", "no", "bf16", "fp16"},
    "judge": {"gold", "verifiable", "reward", "api", "self"},
}


class ParameterError(ValueError):
    """A run setting or notebook parameter that is unknown, of the wrong type or out of range."""


class MissingStepError(RuntimeError):
    """A notebook needs the output of an earlier notebook that has not run (with these settings)."""


@dataclass
class Stage:
    """One training stage's optimisation: learning rate, epochs and how many examples to use."""

    lr: float
    epochs: float = 1.0
    max_examples: int | None = None  # SFT rows or preference pairs (None: all)


@dataclass
class RunSettings:
    """Everything a run shares. The defaults are the offline profile (CPU, embedded SmolLM2, demo data)."""

    profile: str = "offline"
    out_dir: str = ""  # "": runs/main in a checkout; on Colab, Google Drive when mounted
    figures_dir: str = ""  # "": figures/ in a checkout, else out_dir/figures
    seed: int = 0
    reads_from: str = ""  # a finished run whose models and files this run reads when it has none of its own
    # (an exercise's sandbox reads the main run: settings.exercise_settings)
    # data
    source: str = "demo"  # "demo" (shipped), "hub" (the datasets below: hub ids or hub-layout folders), or a folder
    # laid out like sfdpo_helpers/demo_data
    sft_dataset: str = "HuggingFaceTB/smoltalk"
    sft_dataset_config: str = "all"
    pairs_dataset: str = "HuggingFaceH4/ultrafeedback_binarized"
    n_sft_rows: int | None = None  # a seeded sample of the SFT split (None: all rows)
    n_pairs: int | None = None
    n_eval_pool: int | None = None  # held-out prompts kept for evaluation (None: all)
    max_prompt_tokens: int = 255  # the study's 95th percentiles (Table 1)
    max_response_tokens: int = 420
    min_response_chars: int = 75
    # model and training
    base_model: str = "embedded"
    lora_r: int = 16  # 0: full fine-tuning
    mixed_precision: str = "auto"  # bf16 on GPUs of capability >= 8 and CPUs with native bf16; fp16 on a T4
    gradient_checkpointing: bool = False
    compile: bool = False
    packing: bool = False  # training micro-batches without padding (bench/gpu_check.py measures when it pays)
    batch_size: int = 8
    micro_batch_size: int = 4
    save_every: int = 5
    resume: bool = True
    sft: Stage = field(default_factory=lambda: Stage(lr=1e-3, epochs=1.0, max_examples=160))
    dpo: Stage = field(default_factory=lambda: Stage(lr=1e-3, epochs=1.0, max_examples=96))
    rs_dpo: Stage = field(default_factory=lambda: Stage(lr=1e-3, epochs=1.0, max_examples=48))
    self_improve: Stage = field(default_factory=lambda: Stage(lr=1e-3, epochs=3.0))
    # measuring during training
    monitor_every: int = 5  # steps between eval loss / win-rate measurements (0: at the end only)
    n_monitor_prompts: int = 24  # held-out prompts the win-rate monitor answers (0: no monitor)
    rs_dpo_fractions: list = field(default_factory=lambda: [1.0, 0.1])  # self-sampled share: RS-DPO1 (, 2), 3
    judged_points: int = 1  # RS-DPO's win rate vs DPO, this many times per epoch (the study: 1/3, 2/3, 1)
    n_eval_examples: int = 16  # held-out SFT rows / preference pairs for the eval loss (and reward accuracy)
    # generation and judging
    gen_batch_size: int = 96
    max_new_tokens: int = 96
    n_eval_prompts: int = 250
    monitor_max_new_tokens: int = 64
    judge: str = "gold"
    reward_model: str = ""
    api_base_url: str = "https://integrate.api.nvidia.com/v1"
    api_model: str = "nvidia/llama-3.1-nemotron-70b-reward"
    api_key_env: str = "NVIDIA_API_KEY"
    reward_key: str = "reward"
    api_requests_per_minute: float | None = 40  # NVIDIA's free tier: 40 requests a minute (None: no limit)

    def __post_init__(self):
        if self.source not in ("demo", "hub") and not Path(self.source).is_dir():
            raise ParameterError(
                f"run setting source={self.source!r}: 'demo', 'hub' or a folder like sfdpo_helpers/demo_data"
            )
        for name, allowed in CHOICES.items():
            if getattr(self, name) not in allowed:
                raise ParameterError(f"run setting {name}={getattr(self, name)!r} must be one of {sorted(allowed)}")
        for name in ("batch_size", "micro_batch_size", "max_prompt_tokens", "max_response_tokens", "gen_batch_size"):
            if getattr(self, name) <= 0:
                raise ParameterError(f"run setting {name} must be positive, got {getattr(self, name)}")
        if not self.rs_dpo_fractions or not all(0 <= f <= 1 for f in self.rs_dpo_fractions):
            raise ParameterError(f"run setting rs_dpo_fractions must be numbers in [0, 1], got {self.rs_dpo_fractions}")
        for name in ("sft", "dpo", "rs_dpo", "self_improve"):
            stage = getattr(self, name)
            if stage.lr <= 0 or stage.epochs <= 0:
                raise ParameterError(f"run setting {name}: lr and epochs must be positive, got {stage}")

    @property
    def out(self) -> Path:
        return Path(self.out_dir)

    @property
    def data_dir(self) -> Path:
        return self.out / "data"

    @property
    def figures(self) -> Path:
        return Path(self.figures_dir)

    def model_path(self, name: str) -> str:
        """Where the run keeps the model a notebook saved under ``name`` (``sft``, ``dpo``, ``rsdpo3`` ...)."""
        return str(self.out / "models" / name)

    def judge_options(self) -> dict:
        """Keyword arguments of ``judges.make_judge`` for this run's judge (answers and rewards cached in the run)."""
        names = ("reward_model", "api_base_url", "api_model", "api_key_env", "reward_key", "api_requests_per_minute")
        return {**{n: getattr(self, n) for n in names}, "cache_dir": self.out / "responses"}

    def train_settings(self, stage: str, **changes):
        """``training.TrainSettings`` of a stage (``sft``, ``dpo``, ``rs_dpo``, ``self_improve``)."""
        from .training import TrainSettings

        s = getattr(self, stage)
        common = dict(
            batch_size=self.batch_size,
            micro_batch_size=self.micro_batch_size,
            save_every=self.save_every,
            seed=self.seed,
            mixed_precision=self.mixed_precision,
            compile=self.compile,
            gradient_checkpointing=self.gradient_checkpointing,
        )
        return TrainSettings(lr=s.lr, epochs=s.epochs, **{**common, **changes})

    @property
    def prompt_budget(self) -> int:
        """Token budget of a chat-templated prompt: the data-prep cut-off plus room for the template."""
        return self.max_prompt_tokens + 64

    @property
    def response_budget(self) -> int:
        """Token budget of a reply with its end-of-turn token."""
        return self.max_response_tokens + 16

    def changed(self) -> dict:
        """The settings that differ from their profile's values (what to print at the top of a notebook)."""
        base = dataclasses.asdict(_with_paths(profile_settings(self.profile)))
        return {k: v for k, v in dataclasses.asdict(self).items() if base.get(k) != v}


# --- reading and validating -------------------------------------------------------------------


def _type_ok(hint, value) -> bool:
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, getattr(__import__("types"), "UnionType", None)):
        return any(_type_ok(a, value) for a in args)
    if hint is type(None):
        return value is None
    if hint is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, hint)


def _type_name(hint) -> str:
    return " or ".join(a.__name__ for a in typing.get_args(hint)) if typing.get_args(hint) else hint.__name__


def _build(cls, values: dict, where: str):
    hints = typing.get_type_hints(cls)
    unknown = sorted(set(values) - set(hints))
    if unknown:
        raise ParameterError(f"unknown {where} setting(s) {unknown}; known: {sorted(hints)}")
    kwargs = {}
    for name, value in values.items():
        if dataclasses.is_dataclass(hints[name]):
            if not isinstance(value, dict):
                raise ParameterError(f"{where} setting {name} must be a mapping like {{lr: ..., epochs: ...}}")
            value = hints[name](**_build(hints[name], value, f"{where}.{name}"))
        elif not _type_ok(hints[name], value):
            raise ParameterError(f"{where} setting {name}={value!r} should be {_type_name(hints[name])}")
        kwargs[name] = value
    return kwargs


def _merge(base: dict, changes: dict) -> dict:
    out = dict(base)
    for key, value in changes.items():
        out[key] = _merge(base[key], value) if isinstance(value, dict) and isinstance(base.get(key), dict) else value
    return out


def read_file(path: str | Path) -> dict:
    """The ``run`` mapping of a settings file (a file without a ``run`` key is taken whole)."""
    path = Path(path)
    if not path.is_file():
        shipped = sorted(p.stem for p in PROFILES.glob("*.yaml"))
        raise ParameterError(f"no settings file or profile {str(path)!r}; profiles: {shipped} (or 'auto')")
    content = yaml.safe_load(path.read_text()) or {}
    if not isinstance(content, dict):
        raise ParameterError(f"{path}: expected a mapping with a 'run' key")
    run = content.get("run", content)
    if not isinstance(run, dict):
        raise ParameterError(f"{path}: 'run' must be a mapping of settings")
    return run


def profile_settings(name: str) -> RunSettings:
    """A shipped profile (``offline``, ``colab``, ``study``) as a :class:`RunSettings`."""
    values = {**read_file(PROFILES / f"{name}.yaml"), "profile": name}
    return RunSettings(**_build(RunSettings, _merge(dataclasses.asdict(RunSettings()), values), f"profile {name}"))


def on_colab() -> bool:
    return "google.colab" in sys.modules


def mount_drive() -> bool:
    """On Colab, mount Google Drive at /content/drive unless it is mounted (Colab asks for permission once per
    runtime); True when the Drive folder is there. Every notebook runs in a fresh runtime and only Drive persists."""
    if not COLAB_DRIVE.is_dir():
        try:
            from google.colab import drive

            drive.mount("/content/drive")
        except Exception as err:  # declined, or no Drive in this runtime: outputs stay in /content
            print(f"Google Drive could not be mounted ({err})")
    return COLAB_DRIVE.is_dir()


def load(run: str | dict = "auto") -> RunSettings:
    """Settings from a profile name, a YAML file or a mapping (see the module docstring)."""
    if isinstance(run, str):
        if run == "auto":
            run = "colab" if on_colab() else "offline"
        run = {"profile": run} if (PROFILES / f"{run}.yaml").is_file() else read_file(run)
    if not isinstance(run, dict):
        raise ParameterError(f"run must be a profile name, a YAML path or a mapping, got {type(run).__name__}")
    base = profile_settings(run.get("profile", "colab" if on_colab() else "offline"))
    merged = _merge(dataclasses.asdict(base), run)
    return _with_paths(RunSettings(**_build(RunSettings, merged, "run")))


def _with_paths(cfg: RunSettings) -> RunSettings:
    """Fill empty ``out_dir``/``figures_dir``: a checkout's runs/ and figures/; on Colab, Google Drive."""
    if not cfg.out_dir:
        if on_colab():
            drive = mount_drive()
            cfg.out_dir = str((COLAB_DRIVE / "sfdpo" if drive else Path("/content/sfdpo")) / "runs" / cfg.profile)
            if not drive:
                print(
                    "Google Drive is not mounted: outputs go to /content and vanish with this runtime. "
                    "Mount it (from google.colab import drive; drive.mount('/content/drive')) to keep them."
                )
        else:
            name = "main" if cfg.profile == "offline" else cfg.profile  # the main job's documented folder
            cfg.out_dir = str((ROOT if (ROOT / "notebooks").is_dir() else Path(".")) / "runs" / name)
    if not cfg.figures_dir:
        in_checkout = (ROOT / "notebooks").is_dir() and not on_colab()
        cfg.figures_dir = str(ROOT / "figures" if in_checkout else Path(cfg.out_dir) / "figures")
    return cfg


# --- the notebook's side ------------------------------------------------------------------------


def _assignments(source: str) -> dict[str, ast.expr]:
    tree = ast.parse(source)
    return {
        t.id: node.value
        for node in tree.body
        if isinstance(node, ast.Assign)
        for t in node.targets
        if isinstance(t, ast.Name) and not t.id.startswith("_")
    }


def check_injected(namespace: dict) -> None:
    """Compare the parameters papermill injected with the notebook's own parameters cell.

    Papermill puts its values in a cell that starts with ``# Parameters`` right after the cell tagged
    ``parameters``; IPython keeps the source of every executed cell in ``In``. A name the notebook does
    not define, or a value whose type differs from the default's, is one :class:`ParameterError`.
    Outside papermill (no injected cell) there is nothing to check.
    """
    history = list(namespace.get("In") or [])
    injected_at = next((i for i in range(len(history) - 1, 0, -1) if history[i].startswith("# Parameters")), None)
    if injected_at is None:
        return
    injected, defaults = _assignments(history[injected_at]), _assignments(history[injected_at - 1])
    unknown = sorted(set(injected) - set(defaults))
    if unknown:
        raise ParameterError(f"unknown parameter(s) {unknown}; this notebook takes {sorted(defaults)}")
    for name, node in defaults.items():
        try:
            default = ast.literal_eval(node)
        except ValueError:
            continue
        value = namespace.get(name)
        if name != "run" and default is not None and value is not None and not _type_ok(type(default), value):
            raise ParameterError(f"parameter {name}={value!r} should be {type(default).__name__} like {default!r}")


def exercise_settings(cfg: RunSettings, notebook: str, exercise: str) -> RunSettings:
    """The settings of an exercise: the same run, but every output goes to a sandbox,
    ``<out_dir>/exercises/<notebook>-<exercise>/`` (its own data, checkpoints, models, answers and figures), and
    models or files it has not made are read from the run itself (``reads_from``). So an exercise never
    overwrites what another notebook reads. Training in a sandbox starts afresh each time (``resume: False``):
    the sandbox's checkpoints belong to the last try, which may have used other values."""
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}", exercise) or ".." in exercise:
        raise ParameterError(f"exercise={exercise!r}: a short name of letters, digits, '.', '-' or '_' (e.g. 'kl_on')")
    folder = cfg.out / "exercises" / f"{notebook}-{exercise}"
    return dataclasses.replace(
        cfg, out_dir=str(folder), figures_dir=str(folder / "figures"), reads_from=cfg.out_dir, resume=False
    )


def setup(run: str | dict, namespace: dict | None = None, exercise: str = "", notebook: str = "") -> RunSettings:
    """The line after a notebook's parameters: validated settings, output folders, seeded torch.
    With ``exercise`` (a name), the run's sandbox for that exercise of ``notebook`` (:func:`exercise_settings`)."""
    import torch

    if namespace is not None:
        check_injected(namespace)
        if notebook:
            from .story import check

            check(notebook, namespace)  # every story parameter inside its documented range
    cfg = load(run)
    if exercise:
        cfg = exercise_settings(cfg, notebook, exercise)
        print(f"exercise {exercise!r}: outputs in the sandbox {cfg.out_dir}; the run in {cfg.reads_from} is only read")
    for folder in (cfg.out, cfg.data_dir, cfg.figures):
        folder.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(cfg.seed)
    changed = {k: v for k, v in cfg.changed().items() if k not in ("out_dir", "figures_dir", "reads_from")}
    print(f"run: profile {cfg.profile!r}, outputs in {cfg.out_dir}" + (f", changed: {changed}" if changed else ""))
    return cfg
