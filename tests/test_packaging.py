"""The installed distribution: one import package, ``aalps``, typed, with a version.

The wheel is built once (``pip wheel``, from a copy of the package's files, so the checkout
gets no build folders) and read as a user's pip would install it.
"""

from __future__ import annotations

import csv
import importlib.metadata
import importlib.util
import os
import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
#: Folders at the top of the repository -> the subpackage of aalps they install as.
PARTS = ("cost_models", "optimizer", "server", "client", "proto", "examples")
SOURCES = ("pyproject.toml", "README.md", "aalps", *PARTS)


def _version() -> str:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    version: str = config["project"]["version"]
    return version


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tree = tmp_path_factory.mktemp("source")
    for name in SOURCES:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, tree / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy(source, tree / name)
    out = tmp_path_factory.mktemp("wheel")
    result = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(out), str(tree)],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    if result.returncode != 0:
        pytest.fail(f"pip wheel failed:\n{result.stdout}\n{result.stderr}")
    (built,) = out.glob("aalps-*.whl")
    return built


def _record(wheel: Path) -> list[str]:
    with zipfile.ZipFile(wheel) as archive:
        (record,) = [n for n in archive.namelist() if n.endswith(".dist-info/RECORD")]
        rows = csv.reader(archive.read(record).decode("utf-8").splitlines())
        return [row[0] for row in rows]


def test_the_only_top_level_import_name_is_aalps(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        (top_level,) = [n for n in archive.namelist() if n.endswith(".dist-info/top_level.txt")]
        assert archive.read(top_level).decode("utf-8").split() == ["aalps"]
    tops = {path.split("/")[0] for path in _record(wheel) if ".dist-info/" not in path}
    assert tops == {"aalps"}  # no client, server, optimizer, cost_models or proto beside it
    assert "proto" not in tops  # proto-plus's import name: the two install side by side


def test_every_package_folder_of_the_source_tree_is_in_the_wheel(wheel: Path) -> None:
    files = set(_record(wheel))
    folders = [init.parent for part in PARTS for init in (ROOT / part).rglob("__init__.py")]
    assert len(folders) >= 10
    for folder in folders:
        installed = "/".join(("aalps", *folder.relative_to(ROOT).parts, "__init__.py"))
        assert installed in files, f"{folder.relative_to(ROOT)} is not installed"
    for module in (ROOT / "server").glob("*.py"):
        assert f"aalps/server/{module.name}" in files
    data = {
        "aalps/__init__.py",
        "aalps/__main__.py",
        "aalps/py.typed",
        "aalps/examples/code_debugging.yaml",
        "aalps/proto/aalps/v1/aalps.proto",
        "aalps/proto/aalps/v1/aalps_pb2.pyi",
        "aalps/proto/aalps/v1/aalps_pb2_grpc.pyi",
    }
    assert data <= files, sorted(data - files)


def test_installed_metadata_declares_what_the_code_imports() -> None:
    required = {
        req.split(";")[0].split(">")[0].split("=")[0].split("[")[0].strip().lower()
        for req in importlib.metadata.requires("aalps") or []
        if "extra ==" not in req
    }
    for name in ("numpy", "mpmath", "googleapis-common-protos", "protobuf", "grpcio", "sympy"):
        assert name in required, name
    metadata = importlib.metadata.metadata("aalps")
    assert metadata["License-Expression"] == "Apache-2.0"
    scripts = importlib.metadata.entry_points(group="console_scripts", name="aalps")
    assert [ep.value for ep in scripts] == ["aalps.client.cli:main"]


def test_python_dash_m_aalps_version_prints_the_metadata_version(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "aalps", "--version"],
        cwd=tmp_path,  # the installed package, not the checkout
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"aalps {_version()}"
    assert importlib.metadata.version("aalps") == _version()


def test_python_dash_m_aalps_in_the_checkout_runs_the_checkout(tmp_path: Path) -> None:
    """In the repository root ``./aalps`` shadows any installed copy; its parts must follow."""
    root = Path(__file__).resolve().parents[1]
    # -S: no site-packages, so no installed or editable copy can answer for the checkout.
    probe = (
        "from importlib.util import find_spec as f;"
        "print(f('aalps.cost_models').origin, f('aalps.examples').origin)"
    )
    result = subprocess.run(
        [sys.executable, "-S", "-c", probe],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    cost_models, examples = (Path(p) for p in result.stdout.split())
    assert cost_models == root / "cost_models" / "__init__.py"
    assert examples == root / "examples" / "__init__.py"
    version = subprocess.run(
        [sys.executable, "-m", "aalps", "--version"],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert version.returncode == 0, version.stderr
    assert version.stdout.startswith("aalps ")


def test_the_aalps_console_script_prints_the_version(tmp_path: Path) -> None:
    script = Path(sys.executable).parent / ("aalps.exe" if os.name == "nt" else "aalps")
    if not script.is_file():
        pytest.skip(f"no console script beside {sys.executable} (aalps is not pip-installed)")
    result = subprocess.run(
        [str(script), "--version"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"aalps {_version()}"


USER_FILE = """\
from aalps import Client, OptimizeRequest, Plan, load_request

def cheapest(client: Client, path: str) -> str:
    report = client.optimize(path)
    return report.plan.bound_text

request: OptimizeRequest = load_request({})
plan: Plan = request
wrong: int = Client.in_process()
reveal_type(Client.in_process)
"""


def test_mypy_strict_sees_the_real_types_of_the_installed_package(
    wheel: Path, tmp_path: Path
) -> None:
    if importlib.util.find_spec("mypy") is None:
        pytest.skip("mypy is not installed (pip install -e '.[dev]')")
    site = tmp_path / "site"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "-q",
            "--no-deps",
            "--target",
            str(site),
            str(wheel),
        ],
        check=True,
        capture_output=True,
        timeout=300,
    )
    user = tmp_path / "user" / "use_aalps.py"
    user.parent.mkdir()
    user.write_text(USER_FILE, encoding="utf-8")
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-incremental", user.name],
        cwd=user.parent,
        env={**os.environ, "PYTHONPATH": str(site)},  # installed as a user's site-packages
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    lines = result.stdout.splitlines()
    errors = [line for line in lines if ": error:" in line]
    # Exactly the two wrong assignments: everything else type-checks against real types.
    assert len(errors) == 2, result.stdout + result.stderr
    assert any(
        ':8: error: Incompatible types in assignment (expression has type "OptimizeRequest", '
        'variable has type "Plan")' in line
        for line in errors
    ), result.stdout
    assert any(
        ':9: error: Incompatible types in assignment (expression has type "Client"' in e
        for e in errors
    ), result.stdout
    assert any(
        "note: Revealed type is" in line and "aalps.client.client.Client" in line for line in lines
    ), result.stdout
    assert "py.typed" not in result.stdout  # no "missing library stubs or py.typed marker"
