"""Checks the Python that `make setup` will build the course's .venv from.

Runs before anything is installed, so it uses the standard library only.
"""

import sys

SUPPORTED = ((3, 11), (3, 12))


def main() -> int:
    version = sys.version_info[:2]
    if version not in SUPPORTED:
        wanted = " or ".join(f"{a}.{b}" for a, b in SUPPORTED)
        print(
            f"error: the course needs Python {wanted} (TensorFlow 2.21's wheels), but "
            f"{sys.executable} is Python {version[0]}.{version[1]}. "
            f"Run e.g. `make setup PYTHON=python3.11`.",
            file=sys.stderr,
        )
        return 1
    try:
        import ensurepip  # noqa: F401
        import venv  # noqa: F401
    except ImportError:
        print(
            f"error: {sys.executable} has no venv/ensurepip module. On Debian/Ubuntu: "
            f"`sudo apt-get install python3.{version[1]}-venv`.",
            file=sys.stderr,
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
