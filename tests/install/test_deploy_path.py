"""What Community Cloud (uv.lock) and a pip user (requirements.txt) install, checked for real:
fresh environments with no compiler (CC=/bin/false), then the built-in model must answer."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
UV = shutil.which("uv") or str(Path(sys.executable).with_name("uv"))
NO_COMPILER = {"CC": "/bin/false", "CXX": "/bin/false"}

# Run inside the fresh environment: nothing of the old engine, no torch, and a real answer.
SMOKE = """
import importlib.util, sys
for name in ("llama_cpp", "llm", "torch"):
    assert importlib.util.find_spec(name) is None, name + " was installed"
from lib.chat.providers import make_provider
from lib.chat.sampling import SamplingOptions
from lib.config import BUILTIN
from lib.inspector import Inspector
provider = make_provider(BUILTIN, Inspector())
stream = provider.stream_chat([{"role": "user", "content": "Say hello."}],
                              "SmolLM2-135M-Instruct", SamplingOptions(max_tokens=12))
text = "".join(stream)
assert stream.error is None and text.strip(), (stream.error, text)
print("ANSWER:", text)
"""


def run(command: list[str], env: dict[str, str] | None = None, timeout: float = 600) -> str:
    done = subprocess.run(command, cwd=ROOT, env={**os.environ, **(env or {})}, text=True,
                          capture_output=True, timeout=timeout)
    assert done.returncode == 0, f"{command} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done.stdout


def test_requirements_txt_is_the_export_of_the_lock(tmp_path):
    exported = tmp_path / "requirements.txt"
    run(["bash", "scripts/export-requirements.sh", str(exported)], env={"UV": UV})
    assert (ROOT / "requirements.txt").read_text() == exported.read_text(), (
        "requirements.txt is out of date: run `make requirements`")
    assert (ROOT / "requirements.txt").read_text().startswith(
        "# Install with:  pip install --no-deps -r requirements.txt")


def test_the_lock_is_current_with_pyproject():
    run([UV, "lock", "--check"])


@pytest.mark.parametrize("python", ["3.12", "3.13", "3.14"])
def test_the_deploy_set_is_binary_wheels_only_on_recent_pythons(python):
    """Community Cloud runs a recent Python on manylinux x86_64: every pinned package must
    have a wheel there, so nothing is ever compiled during a deploy."""
    run([UV, "pip", "compile", "--quiet", "--no-deps", "--only-binary", ":all:",
         "--python-version", python, "--python-platform", "x86_64-manylinux_2_28",
         "requirements.txt", "-o", os.devnull])


def test_cloud_install_from_the_lock_needs_no_compiler_and_answers(tmp_path):
    """`uv sync` as Community Cloud runs it: no flags, no compiler. The app's packages only."""
    venv = tmp_path / "cloud-venv"
    run([UV, "sync"], env={**NO_COMPILER, "UV_PROJECT_ENVIRONMENT": str(venv)})
    assert "ANSWER:" in run([str(venv / "bin" / "python"), "-c", SMOKE], env=NO_COMPILER)
    installed = run([UV, "pip", "list", "--python", str(venv / "bin" / "python")])
    for dev_only in ("pytest", "playwright", "hypothesis"):
        assert dev_only not in installed


def test_uv_bootstraps_with_the_standard_library_alone(tmp_path):
    """A machine with no uv and no pip/venv: the setup fetches the locked uv itself."""
    work = tmp_path / "checkout"
    (work / "scripts").mkdir(parents=True)
    for name in ("uv.lock", "scripts/bootstrap_uv.py"):
        (work / name).write_bytes((ROOT / name).read_bytes())
    run(["/usr/bin/env", "-i", f"PATH=/usr/bin:/bin:{Path(sys.executable).parent}",
         "python3", "-I", str(work / "scripts" / "bootstrap_uv.py")])
    locked = next(p for p in tomllib.loads((ROOT / "uv.lock").read_text())["package"]
                  if p["name"] == "uv")["version"]
    version = run([str(work / ".cache" / "uv" / "bin" / "uv"), "--version"])
    assert version.startswith(f"uv {locked} ")


def test_pip_install_of_requirements_txt_needs_no_compiler_and_answers(tmp_path):
    venv = tmp_path / "pip-venv"
    run([sys.executable, "-m", "venv", str(venv)])
    python = str(venv / "bin" / "python")
    run([python, "-m", "pip", "install", "--quiet", "--no-deps", "--only-binary", ":all:",
         "-r", "requirements.txt"], env=NO_COMPILER, timeout=900)
    assert "ANSWER:" in run([python, "-c", SMOKE], env=NO_COMPILER)


def test_the_gradio_launcher_has_a_lock_of_its_own_and_the_app_none_of_it():
    run([UV, "lock", "--check", "--project", "launchers/gradio"])
    app_lock = tomllib.loads((ROOT / "uv.lock").read_text())
    assert not [p for p in app_lock["package"] if p["name"].startswith("gradio")]
    launcher = {p["name"]: p["version"] for p in tomllib.loads(
        (ROOT / "launchers/gradio/uv.lock").read_text())["package"]}
    assert launcher["gradio"].startswith("5.")
