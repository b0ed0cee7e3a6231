"""Run settings in one place: profiles load, typos and wrong types fail with one clear error, papermill's
injected parameters are checked against the notebook's own, and the offline profile file equals the defaults."""

import dataclasses

import pytest

from sfdpo_helpers import settings
from sfdpo_helpers.settings import ParameterError


def test_every_shipped_profile_loads_and_offline_equals_the_defaults():
    for name in ("offline", "colab", "study"):
        cfg = settings.load(name)
        assert cfg.profile == name
    offline = dataclasses.asdict(settings.profile_settings("offline"))
    assert offline == dataclasses.asdict(settings.RunSettings())
    study = settings.load("study")
    assert (study.base_model, study.lora_r, study.sft.lr, study.sft.epochs) == ("Qwen/Qwen2.5-0.5B", 0, 5e-6, 3.0)


def test_a_mapping_changes_a_profile_and_stages_merge_key_by_key():
    cfg = settings.load({"profile": "study", "dpo": {"lr": 3e-6}, "out_dir": "/tmp/x"})
    assert cfg.dpo.lr == 3e-6 and cfg.dpo.epochs == 1.0 and cfg.sft.lr == 5e-6 and cfg.out_dir == "/tmp/x"
    assert cfg.changed() == {"out_dir": "/tmp/x", "dpo": {"lr": 3e-6, "epochs": 1.0, "max_examples": None}}


def test_a_yaml_file_with_a_run_key(tmp_path):
    path = tmp_path / "mine.yaml"
    path.write_text("run:\n  profile: colab\n  judge: api\n  n_eval_prompts: 32\n")
    cfg = settings.load(str(path))
    assert (cfg.profile, cfg.judge, cfg.n_eval_prompts, cfg.base_model) == ("colab", "api", 32, "Qwen/Qwen2.5-0.5B")


@pytest.mark.parametrize(
    "run,message",
    [
        ({"dpo_lr": 1e-6}, r"unknown run setting\(s\) \['dpo_lr'\]; known: \["),
        ({"batch_size": "8"}, "run setting batch_size='8' should be int"),
        ({"batch_size": 2.5}, "should be int"),
        ({"resume": 1}, "resume=1 should be bool"),
        ({"n_sft_rows": "all"}, "n_sft_rows='all' should be int or NoneType"),
        ({"dpo": {"lr": 1e-6, "epoch": 1}}, r"unknown run.dpo setting\(s\) \['epoch'\]"),
        ({"dpo": 1e-6}, "setting dpo must be a mapping"),
        ({"judge": "gpt"}, "judge='gpt' must be one of"),
        ({"mixed_precision": "bf32"}, "mixed_precision='bf32' must be one of"),
        ({"batch_size": 0}, "batch_size must be positive"),
        ({"sft": {"lr": 0.0}}, "sft: lr and epochs must be positive"),
        ({"source": "/no/such/folder"}, "source='/no/such/folder'"),
        ("no-such-profile", r"no settings file or profile 'no-such-profile'; profiles: \['colab', 'offline', 'study'"),
    ],
)
def test_bad_run_settings_are_one_clear_error(run, message):
    with pytest.raises(ParameterError, match=message):
        settings.load(run)


def test_auto_picks_colab_on_colab(monkeypatch, tmp_path):
    import sys
    import types

    assert settings.load("auto").profile == "offline"
    monkeypatch.setitem(sys.modules, "google.colab", types.ModuleType("google.colab"))
    monkeypatch.setattr(settings, "COLAB_DRIVE", tmp_path / "MyDrive")
    cfg = settings.load("auto")
    assert cfg.profile == "colab" and cfg.out_dir == "/content/sfdpo/runs/colab"  # Drive not mounted
    (tmp_path / "MyDrive").mkdir()
    cfg = settings.load("auto")
    assert cfg.out_dir == str(tmp_path / "MyDrive" / "sfdpo" / "runs" / "colab")
    assert cfg.figures_dir == str(tmp_path / "MyDrive" / "sfdpo" / "runs" / "colab" / "figures")


PARAMETERS_CELL = 'run = "auto"  # settings\nbeta = 0.1\nsteps = 10\nname = "dpo"\nlimit = None\nuse_it = True\n'


def namespace(injected: str) -> dict:
    ns = {"In": ["", "import x", PARAMETERS_CELL, "# Parameters\n" + injected]}
    exec(PARAMETERS_CELL, ns)
    exec(injected, ns)
    return ns


@pytest.mark.parametrize(
    "injected,message",
    [
        ("bta = 0.5\n", r"unknown parameter\(s\) \['bta'\]; this notebook takes \['beta', 'limit', 'name'"),
        ("steps = '10'\n", "steps='10' should be int like 10"),
        ("steps = 2.5\n", "steps=2.5 should be int"),
        ("use_it = 1\n", "use_it=1 should be bool"),
        ("name = 3\n", "name=3 should be str"),
    ],
)
def test_injected_parameters_are_checked_against_the_parameters_cell(injected, message):
    with pytest.raises(ParameterError, match=message):
        settings.check_injected(namespace(injected))


def test_good_injections_and_no_papermill_pass():
    # an int for a float default, anything for a None default, a dict for run
    settings.check_injected(namespace("beta = 1\nlimit = 50\nrun = {'profile': 'study'}\n"))
    settings.check_injected({"In": ["", PARAMETERS_CELL]})  # run by hand: nothing injected, nothing to check
    settings.check_injected({})


def test_run_settings_reach_training_and_the_judge():
    cfg = settings.load(
        {"gradient_checkpointing": True, "compile": True, "mixed_precision": "no", "reward_key": "score"}
    )
    train = cfg.train_settings("dpo", eval_every=3)
    assert (train.gradient_checkpointing, train.compile, train.mixed_precision) == (True, True, "no")
    assert (train.lr, train.epochs, train.eval_every, train.batch_size) == (
        cfg.dpo.lr,
        cfg.dpo.epochs,
        3,
        cfg.batch_size,
    )
    assert cfg.judge_options()["reward_key"] == "score" and cfg.judge_options()["cache_dir"] == cfg.out / "responses"


def test_colab_installs_leave_colabs_kernel_packages_alone():
    """The core dependencies are what the helpers import; Jupyter, papermill and jupytext are the 'lab' extra,
    so installing the kit on Colab never replaces Colab's pinned kernel packages (no runtime restart)."""
    import tomllib

    from sfdpo_helpers.settings import ROOT

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    core = {dep.split(">")[0].split("=")[0].split("[")[0].strip().lower() for dep in project["dependencies"]}
    assert not core & {"jupyterlab", "notebook", "ipykernel", "ipywidgets", "papermill", "jupyter"}
    assert "papermill" in " ".join(project["optional-dependencies"]["lab"])
    cell = (ROOT / "notebooks" / "02_sft.py").read_text()
    install = next(line for line in cell.splitlines() if "pip" in line and "install" in line)
    assert '"sfdpo[api] @ git+https://github.com/' in install  # the kit with the API judge's client (openai)
    assert "torch" not in install and "transformers" not in install  # Colab's own stay


def test_an_exercise_gets_a_sandbox_that_reads_the_run_and_writes_only_its_own_folder(tmp_path):
    from sfdpo_helpers import pipeline

    run = settings.load({"out_dir": str(tmp_path / "run"), "figures_dir": str(tmp_path / "figures")})
    (tmp_path / "run" / "models" / "sft").mkdir(parents=True)
    (tmp_path / "run" / "models" / "sft" / "config.json").write_text("{}")
    cfg = settings.exercise_settings(run, "04", "beta_0.5")
    assert cfg.out == tmp_path / "run" / "exercises" / "04-beta_0.5" and cfg.reads_from == run.out_dir
    assert cfg.figures == cfg.out / "figures" and cfg.resume is False  # a sandbox's checkpoints are the last try's
    assert pipeline.require_model(cfg, "sft") == str(tmp_path / "run" / "models" / "sft")  # read from the run
    assert cfg.model_path("dpo") == str(cfg.out / "models" / "dpo")  # written to the sandbox
    (cfg.out / "models" / "sft").mkdir(parents=True)
    (cfg.out / "models" / "sft" / "config.json").write_text("{}")
    assert pipeline.require_model(cfg, "sft") == str(cfg.out / "models" / "sft")  # its own, once it has one
    with pytest.raises(settings.ParameterError, match="exercise"):
        settings.exercise_settings(run, "04", "../../elsewhere")


def test_findings_are_merged_and_read_back(tmp_path):
    from sfdpo_helpers import pipeline

    cfg = settings.load({"out_dir": str(tmp_path)})
    pipeline.record(cfg, "02", steps=20, win_rate={0: 0.5})
    pipeline.record(cfg, "02", epochs=1.0)
    assert pipeline.findings(tmp_path, "02") == {"steps": 20, "win_rate": {"0": 0.5}, "epochs": 1.0}
    assert pipeline.findings(tmp_path, "07") == {}
