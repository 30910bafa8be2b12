"""End to end, as a learner meets the course: `make lab`, a browser, chapter 00, Run All.

Starts JupyterLab through `make lab` (JUPYTER_PORT / JUPYTER_TOKEN honoured), drives it with
Playwright in Debian's headless Chromium (browsers cannot be downloaded here), runs every
cell of chapters/00_setup.ipynb and checks the environment report appeared with no error.
JupyterLab's autosave is switched off for the run, and the test checks the committed notebook
is left byte-for-byte unchanged.
"""

import hashlib
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOK = ROOT / "chapters" / "00_setup.ipynb"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
# Flags for a closed network and no sandbox as root; see the machine notes in the README.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(
        CHROMIUM is None, reason="no Chromium installed (Debian: apt-get install chromium)"
    ),
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_for_server(url: str, proc: subprocess.Popen, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"`make lab` exited with status {proc.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    raise TimeoutError(f"JupyterLab did not answer at {url} within {timeout} s")


@pytest.fixture
def lab(tmp_path):
    port, token = _free_port(), secrets.token_hex(16)
    settings = tmp_path / "lab-settings" / "@jupyterlab" / "docmanager-extension"
    settings.mkdir(parents=True)
    (settings / "plugin.jupyterlab-settings").write_text(json.dumps({"autosave": False}))
    # Render every cell (JupyterLab 4 otherwise virtualises cells outside the viewport).
    tracker = tmp_path / "lab-settings" / "@jupyterlab" / "notebook-extension"
    tracker.mkdir(parents=True)
    (tracker / "tracker.jupyterlab-settings").write_text(json.dumps({"windowingMode": "none"}))
    news = tmp_path / "lab-settings" / "@jupyterlab" / "apputils-extension"
    news.mkdir(parents=True)
    (news / "notification.jupyterlab-settings").write_text(json.dumps({"fetchNews": "false"}))
    env = dict(
        os.environ,
        JUPYTER_PORT=str(port),
        JUPYTER_TOKEN=token,
        JUPYTER_IP="127.0.0.1",
        JUPYTERLAB_SETTINGS_DIR=str(tmp_path / "lab-settings"),
    )
    env.pop("DISPLAY", None)
    log = open(tmp_path / "lab.log", "w")
    proc = subprocess.Popen(
        ["make", "lab"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_for_server(f"{base}/api/status?token={token}", proc)
        yield base, token
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
        log.close()


def test_lab_runs_chapter_00_in_a_real_browser(lab, tmp_path):
    from playwright.sync_api import TimeoutError as PlaywrightTimeout
    from playwright.sync_api import sync_playwright

    base, token = lab
    before = hashlib.sha256(NOTEBOOK.read_bytes()).hexdigest()
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        try:
            page.goto(f"{base}/lab/tree/chapters/00_setup.ipynb?token={token}")
            page.locator(".jp-Notebook .jp-Cell").first.wait_for(timeout=90_000)
            # If JupyterLab asks which kernel to start, accept its preselection (the course's).
            select = page.locator(".jp-Dialog").get_by_role("button", name="Select", exact=True)
            try:
                select.click(timeout=5_000)
            except PlaywrightTimeout:
                pass
            # Kernel up: the toolbar's status reads "Idle" once the kernel has started.
            page.locator(".jp-Notebook-ExecutionIndicator[data-status='idle']").wait_for(
                timeout=90_000
            )
            # Clear the committed outputs first, so what we read below is this run's.
            page.get_by_role("menuitem", name="Edit", exact=True).click()
            page.get_by_role("menuitem", name="Clear Outputs of All Cells", exact=True).click()
            page.wait_for_function(
                "() => document.querySelectorAll('.jp-Notebook .jp-OutputArea-output').length === 0",
                timeout=30_000,
            )
            page.get_by_role("menuitem", name="Run", exact=True).click()
            page.get_by_role("menuitem", name="Run All Cells", exact=True).click()
            page.wait_for_function(
                """() => {
                    const prompts = [...document.querySelectorAll('.jp-CodeCell .jp-InputPrompt')];
                    return prompts.length > 0 && prompts.every(p => /\\[\\d+\\]/.test(p.textContent));
                }""",
                timeout=240_000,
            )
            page.screenshot(path=str(tmp_path / "chapter00.png"), full_page=True)
            outputs = page.locator(".jp-OutputArea-output").all_text_contents()
            text = "\n".join(outputs)
            errors = page.locator(
                ".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']"
            )
            error_texts = errors.all_text_contents()
        finally:
            browser.close()
    if (ROOT / ".pytest_cache").is_dir():  # keep the last screenshot for a human to look at
        shutil.copy(tmp_path / "chapter00.png", ROOT / ".pytest_cache" / "e2e-chapter00.png")

    assert "Keras backend: tensorflow" in text
    assert "tensorflow       2.21.0" in text
    assert (
        f"{len(__import__('course.doctor').doctor.REQUIRED)} of" in text
        and "required packages present" in text
    )
    assert "bert-tf 0.1.0" in text
    # The notebook's kernel is the course's own environment.
    assert (
        str(ROOT / ".venv" / "bin" / "python") in text or os.environ.get("VIRTUAL_ENV", "") in text
    )
    assert not [t for t in error_texts if "Error" in t or "Traceback" in t], error_texts
    assert hashlib.sha256(NOTEBOOK.read_bytes()).hexdigest() == before, (
        "JupyterLab rewrote the notebook"
    )
