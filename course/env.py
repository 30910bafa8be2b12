"""What is this notebook running on? The environment report of chapter 00.

`versions()` lists the pinned stack; `machine()` the hardware and accelerators that Keras
can use. Both return plain dicts so a notebook can print them as a table.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import os
import platform
import sys

STACK = [
    ("python", None),
    ("tensorflow", "tensorflow"),
    ("tensorflow-text", "tensorflow_text"),
    ("keras", "keras"),
    ("keras-hub", "keras_hub"),
    ("jax", "jax"),
    ("numpy", "numpy"),
    ("bert-tf-course", "bert_tf"),
]


def versions() -> dict[str, str]:
    """Installed versions of the course's stack ('missing' where a package is absent)."""
    out = {}
    for dist, _module in STACK:
        if dist == "python":
            out[dist] = platform.python_version()
            continue
        try:
            out[dist] = importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            out[dist] = "missing"
    return out


def in_colab() -> bool:
    return "google.colab" in sys.modules


def _tpu_present() -> bool:
    # Colab TPU VMs expose the chips as /dev/accel* (or /dev/vfio for v5e); old TPU nodes set COLAB_TPU_ADDR.
    return bool(os.environ.get("COLAB_TPU_ADDR")) or any(
        name.startswith("accel") for name in os.listdir("/dev") if os.path.isdir("/dev")
    )


def accelerators() -> dict[str, list[str]]:
    """Devices each framework sees, e.g. {"tensorflow": ["CPU:0", "GPU:0"], "jax": ["cpu:0"]}."""
    found: dict[str, list[str]] = {}
    backend = os.environ.get("KERAS_BACKEND", "tensorflow")
    if backend == "tensorflow" or "tensorflow" in sys.modules:
        import tensorflow as tf

        found["tensorflow"] = [d.name.replace("/physical_device:", "") for d in tf.config.list_physical_devices()]
    if backend == "jax" or "jax" in sys.modules:
        import jax

        found["jax"] = [f"{d.platform}:{d.id}" for d in jax.devices()]
    return found


def machine() -> dict[str, object]:
    """Hardware facts: cores, memory, accelerators, where we run."""
    info: dict[str, object] = {
        "platform": f"{platform.system()} {platform.machine()}",
        "cpu cores": os.cpu_count(),
        "where": "Google Colab" if in_colab() else "local",
        "python": sys.executable,
    }
    try:
        pages = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
        info["memory"] = f"{pages / 2**30:.0f} GiB"
    except (ValueError, OSError, AttributeError):
        info["memory"] = "unknown"
    info["tpu"] = "present" if _tpu_present() else "none"
    return info


def keras_backend() -> str:
    import keras

    return keras.backend.backend()


def report() -> str:
    """A short human-readable report of versions, backend and devices."""
    lines = ["Stack:"]
    lines += [f"  {name:<16} {version}" for name, version in versions().items()]
    lines.append(f"Keras backend:     {keras_backend()}")
    lines.append("Devices:")
    for framework, devices in accelerators().items():
        lines.append(f"  {framework:<16} {', '.join(devices)}")
    return "\n".join(lines)
