"""Registers this environment as the Jupyter kernel "bert-tf-course".

The spec is installed inside the environment (`sys.prefix/share/jupyter/kernels`), so every
checkout's `.venv` has its own and two clones never re-point each other's kernel. JupyterLab
started by `make lab` and nbval in `make test` both look there. Re-registers only when the
spec Jupyter would pick is not this Python's, so it is cheap to call on every `make setup`.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
from pathlib import Path

KERNEL_ENV = {
    # Quiets TensorFlow's Python-side and most C++ logging in notebooks.
    "TF_CPP_MIN_LOG_LEVEL": "3",
    "PYTHONWARNINGS": "ignore::DeprecationWarning",
    # `!bert-tf ...` in a notebook finds the course's command line (Jupyter expands ${PATH}).
    "PATH": os.path.dirname(sys.executable) + os.pathsep + "${PATH}",
}
DISPLAY_PREFIX = "BERT course"


def resolved_spec_dir(name: str) -> Path | None:
    """The directory of the spec Jupyter resolves `name` to, from this environment."""
    from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel

    try:
        return Path(KernelSpecManager().get_kernel_spec(name).resource_dir)
    except NoSuchKernel:
        return None


def is_current(name: str) -> bool:
    spec_dir = resolved_spec_dir(name)
    if spec_dir is None or not spec_dir.resolve().is_relative_to(Path(sys.prefix).resolve()):
        return False
    try:
        data = json.loads((spec_dir / "kernel.json").read_text())
    except (OSError, ValueError):
        return False
    return data.get("argv", [None])[0] == sys.executable and data.get("env") == KERNEL_ENV


def _remove_shadowing_spec(name: str, own_dir: Path) -> None:
    """A spec of the same name in the user's or system directory hides ours; remove it only
    if it is one of ours (an earlier course version registered kernels per user)."""
    spec_dir = resolved_spec_dir(name)
    if spec_dir is None or spec_dir.resolve() == own_dir.resolve():
        return
    try:
        data = json.loads((spec_dir / "kernel.json").read_text())
    except (OSError, ValueError):
        data = {}
    if str(data.get("display_name", "")).startswith(DISPLAY_PREFIX):
        shutil.rmtree(spec_dir)
        print(f"removed an older course kernel spec that shadowed this one: {spec_dir}")
    else:
        raise SystemExit(
            f"error: a different Jupyter kernel named {name!r} at {spec_dir} hides the course's; "
            f"remove it with `jupyter kernelspec remove {name}` or pass another --name")


def register(name: str, display_name: str) -> Path:
    from ipykernel.kernelspec import install

    path = Path(install(prefix=sys.prefix, kernel_name=name, display_name=display_name,
                        env=KERNEL_ENV))
    _remove_shadowing_spec(name, path)
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--name", default="bert-tf-course")
    parser.add_argument("--display-name",
                        default=f"{DISPLAY_PREFIX} (Python {sys.version_info[0]}.{sys.version_info[1]})")
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
