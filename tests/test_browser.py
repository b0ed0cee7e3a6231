"""The answer explorer in a real browser: JupyterLab 4 serves a notebook written here, headless Chromium
(Debian's package, driven by Playwright) runs it, changes the explorer's selection and reads the answer then
shown. A second notebook's view fails on the second row: the same check must fail on it, which proves that
the check can fail. Screenshots of every step (and the server's log) go to $BROWSER_ARTIFACTS
(default runs/browser-artifacts).

Opt-in, so that `make test` stays quick: `make test-browser` installs Playwright (and Chromium when missing
and root) and runs ``SFDPO_REQUIRE_BROWSER=1 pytest -m browser``; there a missing tool is a failure, not a
skip. ``SFDPO_BROWSER=1`` or ``-m browser`` alone runs them and skips when a tool is missing.
"""

import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]

ROOT = Path(__file__).resolve().parents[1]
NAMES = ("model-a", "model-b")
PROMPTS = ["First prompt: add 2 and 2.", "Second prompt: name a colour.", "Third prompt: say hello."]
ANSWERS_A = ["ANSWER-ONE alpha: the sum is 4.", "ANSWER-TWO alpha: the colour is teal.", "ANSWER-THREE alpha: hello."]
ANSWERS_B = ["ANSWER-ONE beta: four.", "ANSWER-TWO beta: red.", "ANSWER-THREE beta: hi there."]
SCORES = ([0.9, 0.5, 0.1], [0.2, 0.5, 0.8])
TIMEOUT_MS = 10_000  # one kernel round trip after a click; the page and kernel get longer, below

CELL = f"""\
from sfdpo_helpers import explorer

print("explorer from", explorer.__file__)
NAMES = {NAMES!r}
rows = explorer.comparison_rows({PROMPTS!r}, ["math", "writing", "chat"],
                                {ANSWERS_A!r}, {ANSWERS_B!r}, {SCORES[0]!r}, {SCORES[1]!r})


def view(row):
    if BROKEN and row["answer_a"].startswith("ANSWER-TWO"):
        raise RuntimeError("a deliberately broken callback")
    return explorer.comparison_html(row, NAMES)


explorer_widget = explorer.show(rows, view, title="browser test")
"""


def _skip_or_fail(reason: str):
    if os.environ.get("SFDPO_REQUIRE_BROWSER") == "1":
        pytest.fail(f"SFDPO_REQUIRE_BROWSER=1 but {reason}", pytrace=False)
    pytest.skip(reason)


def _chromium() -> str | None:
    names = [
        os.environ.get("SFDPO_CHROMIUM", ""),
        "chromium",
        "chromium-browser",
        "google-chrome",
        "google-chrome-stable",
    ]
    return next((shutil.which(name) for name in names if name and shutil.which(name)), None)


@pytest.fixture(scope="module")
def chromium_path(request):
    wanted = os.environ.get("SFDPO_REQUIRE_BROWSER") == "1" or os.environ.get("SFDPO_BROWSER") == "1"
    if not wanted and request.config.getoption("markexpr", "").strip() != "browser":
        pytest.skip("browser test: run `make test-browser` (or SFDPO_BROWSER=1 pytest -m browser)")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        _skip_or_fail("playwright is not installed (pip install playwright; its browser download is not needed)")
    try:
        import jupyterlab  # noqa: F401
    except ImportError:
        _skip_or_fail("jupyterlab is not installed in this Python")
    path = _chromium()
    if path is None:
        _skip_or_fail("no Chromium found (apt-get install chromium, or set SFDPO_CHROMIUM)")
    return path


@pytest.fixture(scope="module")
def artifacts() -> Path:
    path = Path(os.environ.get("BROWSER_ARTIFACTS") or ROOT / "runs" / "browser-artifacts")
    path.mkdir(parents=True, exist_ok=True)
    return path


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _write_notebook(path: Path, broken: bool) -> None:
    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [nbformat.v4.new_code_cell(f"BROKEN = {broken}\n" + CELL)]
    nbformat.write(nb, path)


@pytest.fixture(scope="module")
def lab(chromium_path, artifacts, tmp_path_factory):
    """A JupyterLab on a free localhost port with a token, in a temporary folder holding the two notebooks;
    its config, data, runtime, settings and workspaces there too, so nothing of the user's leaks in."""
    home = tmp_path_factory.mktemp("lab")
    (home / "notebooks").mkdir()
    _write_notebook(home / "notebooks" / "explorer_good.ipynb", broken=False)
    _write_notebook(home / "notebooks" / "explorer_broken.ipynb", broken=True)
    for name in ("config", "data", "runtime", "settings", "workspaces"):
        (home / name).mkdir()
    notification = home / "settings" / "@jupyterlab" / "apputils-extension" / "notification.jupyterlab-settings"
    notification.parent.mkdir(parents=True)
    notification.write_text('{"fetchNews": "false", "checkForUpdates": false}')  # no news toast over the widget
    env = dict(os.environ, JUPYTER_CONFIG_DIR=str(home / "config"), JUPYTER_DATA_DIR=str(home / "data"))
    env.update(JUPYTER_RUNTIME_DIR=str(home / "runtime"), JUPYTERLAB_SETTINGS_DIR=str(home / "settings"))
    env.update(JUPYTERLAB_WORKSPACES_DIR=str(home / "workspaces"), OMP_NUM_THREADS="1")
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])])  # this checkout
    port, token = _free_port(), secrets.token_hex(16)
    command = [sys.executable, "-m", "jupyter", "lab", "--no-browser", "--allow-root", "--ip=127.0.0.1"]
    command += [f"--port={port}", "--port-retries=0", f"--IdentityProvider.token={token}"]
    command += [f"--ServerApp.root_dir={home / 'notebooks'}"]
    # window.jupyterapp to run the notebook's cells; no news fetched
    command += ["--LabApp.expose_app_in_browser=True", "--LabApp.news_url=None"]
    log = open(artifacts / "jupyter-server.log", "w")  # noqa: SIM115 (closed below)
    server = subprocess.Popen(command, cwd=home / "notebooks", env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            if server.poll() is not None:
                pytest.fail(f"jupyter lab exited ({server.returncode}): see {artifacts / 'jupyter-server.log'}")
            try:
                with urllib.request.urlopen(f"{base}/api/status?token={token}", timeout=2) as reply:
                    if reply.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"jupyter lab did not answer in 90 s: see {artifacts / 'jupyter-server.log'}")
            time.sleep(0.5)
        yield base, token
    finally:
        server.terminate()
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        log.close()


@pytest.fixture(scope="module")
def browser(chromium_path):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium_path, headless=True)
        yield browser
        browser.close()


@pytest.fixture
def open_notebook(lab, browser, artifacts):
    """Open a notebook in JupyterLab, run all its cells and wait for the explorer widget; returns the page and
    a ``shot(name)`` that saves a screenshot. A screenshot is also taken when the test fails."""
    base, token = lab
    pages = []

    def run(name: str, prefix: str):
        from playwright.sync_api import expect

        page = browser.new_page(viewport={"width": 1280, "height": 1000})
        page.set_default_timeout(60_000)
        pages.append((page, prefix))
        # a workspace of its own, reset: JupyterLab would otherwise restore the notebooks opened before
        page.goto(f"{base}/lab/workspaces/{prefix}/tree/{name}?reset&token={token}")
        page.wait_for_function(
            "name => window.jupyterapp?.shell.currentWidget?.context?.path === name", arg=name, timeout=90_000
        )
        page.evaluate(
            """async () => {
                const panel = window.jupyterapp.shell.currentWidget;
                await panel.sessionContext.ready;
                await window.jupyterapp.commands.execute('notebook:run-all-cells');
            }"""
        )
        expect(page.locator(".widget-html-content")).to_be_visible(timeout=90_000)

        def shot(step: str) -> Path:
            path = artifacts / f"{prefix}-{step}.png"
            widget_panel(page).scroll_into_view_if_needed()
            page.screenshot(path=path)
            return path

        return page, shot

    yield run
    for page, prefix in pages:
        try:
            page.screenshot(path=artifacts / f"{prefix}-last.png")
        finally:
            page.close()


def widget_panel(page):
    """The explorer widget's HTML panel (not the static first view printed above it)."""
    return page.locator(".jp-OutputArea-output .widget-html .widget-html-content")


def expect_answers(page, i: int, timeout: int = TIMEOUT_MS) -> None:
    """The widget shows row i exactly: its prompt and both answers, each a <pre> of its own."""
    from playwright.sync_api import expect

    expect(widget_panel(page).locator("pre")).to_have_text([PROMPTS[i], ANSWERS_A[i], ANSWERS_B[i]], timeout=timeout)


def choose(page, i: int) -> None:
    """Select row i in the explorer's 'prompt' dropdown (a <select> in the widget)."""
    dropdown = page.locator(".widget-dropdown").filter(has=page.locator("label", has_text=re.compile(r"^prompt$")))
    dropdown.locator("select").select_option(index=i)


def test_explorer_in_jupyterlab_shows_the_selected_answer(open_notebook):
    page, shot = open_notebook("explorer_good.ipynb", "good")
    output = page.locator(".jp-OutputArea-output").first
    from playwright.sync_api import expect

    expect(output).to_contain_text(f"explorer from {ROOT / 'sfdpo_helpers' / 'explorer.py'}")  # this checkout's
    expect_answers(page, 0)
    shot("1-loaded")
    choose(page, 1)
    expect_answers(page, 1)
    expect(widget_panel(page)).to_contain_text("Outcome: tie")
    shot("2-selected-second")
    page.locator("button.widget-button", has_text="next").click()
    expect_answers(page, 2)
    expect(widget_panel(page)).to_contain_text("Outcome: B wins (model-b)")
    shot("3-next-third")


def test_a_broken_callback_fails_the_same_check(open_notebook):
    page, shot = open_notebook("explorer_broken.ipynb", "broken")
    from playwright.sync_api import expect

    expect_answers(page, 0)  # the first row still renders: the page, kernel and widget work
    shot("1-loaded")
    choose(page, 1)
    with pytest.raises(AssertionError):
        expect_answers(page, 1)
    # ...and for the right reason: the explorer shows the view's traceback instead of the answer
    expect(widget_panel(page)).to_contain_text("view(row) failed")
    expect(widget_panel(page)).to_contain_text("RuntimeError: a deliberately broken callback")
    shot("2-selected-second-broken")
