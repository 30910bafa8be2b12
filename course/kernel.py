"""Registers this environment as the Jupyter kernel "bert-tf-course".

Installed into the user's kernel directory so any Jupyter on the machine (VS Code, a global
JupyterLab) can pick it. Re-registers only when the spec points at a different Python, so it
is cheap to call on every `make setup`.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

KERNEL_ENV = {
    # Quiets TensorFlow's Python-side and most C++ logging in notebooks.
    "TF_CPP_MIN_LOG_LEVEL": "3",
    "PYTHONWARNINGS": "ignore::DeprecationWarning",
    # `!bert-tf ...` in a notebook finds the course's command line (Jupyter expands ${PATH}).
    "PATH": os.path.dirname(sys.executable) + os.pathsep + "${PATH}",
}


def kernel_dir(name: str) -> Path:
    from jupyter_core.paths import jupyter_data_dir

    return Path(jupyter_data_dir()) / "kernels" / name


def is_current(name: str) -> bool:
    spec = kernel_dir(name) / "kernel.json"
    try:
        data = json.loads(spec.read_text())
    except (OSError, ValueError):
        return False
    return data.get("argv", [None])[0] == sys.executable and data.get("env") == KERNEL_ENV


def register(name: str, display_name: str) -> Path:
    from ipykernel.kernelspec import install

    path = install(user=True, kernel_name=name, display_name=display_name, env=KERNEL_ENV)
    return Path(path)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--name", default="bert-tf-course")
    parser.add_argument("--display-name", default=f"BERT course (Python {sys.version_info[0]}.{sys.version_info[1]})")
    parser.add_argument("--quiet", action="store_true")
    args = parser.parse_args(argv)
    if is_current(args.name):
        if not args.quiet:
            print(f"kernel {args.name!r} already points at {sys.executable}")
        return 0
    path = register(args.name, args.display_name)
    print(f"registered Jupyter kernel {args.name!r} -> {sys.executable} ({path})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
