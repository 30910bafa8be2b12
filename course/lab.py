"""Starts JupyterLab on the course, opened at the first chapter (`make lab`).

Jupyter Server itself honours JUPYTER_PORT and JUPYTER_TOKEN; this adds what a headless box
needs: no browser when there is no display, and --allow-root when running as root (containers).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FIRST_NOTEBOOK = "chapters/00_setup.ipynb"


def has_display() -> bool:
    return sys.platform in ("darwin", "win32") or bool(
        os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")
    )


def lab_argv(extra: list[str]) -> list[str]:
    argv = [
        sys.executable, "-m", "jupyterlab",
        f"--ServerApp.root_dir={ROOT}",
        f"--LabApp.default_url=/lab/tree/{FIRST_NOTEBOOK}",
    ]
    if not has_display():
        argv.append("--no-browser")
    if os.environ.get("JUPYTER_IP"):
        argv.append(f"--ip={os.environ['JUPYTER_IP']}")
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        argv.append("--allow-root")
    return argv + extra


def main() -> None:
    argv = lab_argv(sys.argv[1:])
    print("Starting JupyterLab on", ROOT, flush=True)
    os.execv(argv[0], argv)


if __name__ == "__main__":
    main()
