#!/usr/bin/env python3
"""Generate the Python code for the aalps protos, check it, lint the protos.

Run from anywhere (paths are relative to the repository root):

    python scripts/gen_proto.py            # regenerate proto/aalps/v1/*_pb2*.py(i) in place
    python scripts/gen_proto.py --check    # exit 1 if the committed code differs (CI)
    python scripts/gen_proto.py --lint     # buf lint (STANDARD, see proto/buf.yaml)

Each ``proto/**/*.proto`` is compiled with the repository root as the proto root
(``-I .``: the descriptors keep the file name ``proto/aalps/v1/aalps.proto``). The folder
installs as ``aalps.proto`` (pyproject's package-dir), so the generated imports of each
other (``from proto.aalps.v1 import aalps_pb2``) and the module names given to the protobuf
builder are rewritten to ``aalps.proto.aalps.v1``; message names (``aalps.v1.*``) are the
.proto's own and do not change. Well-known types come from grpc_tools' bundled includes and
``google/rpc/status.proto`` from googleapis-common-protos. protoc runs in-process
(``grpc_tools.protoc``); the ``.pyi`` stubs come from mypy-protobuf's plugins
(``protoc-gen-mypy``, ``protoc-gen-mypy_grpc``), which must be installed beside this
Python (``pip install -e '.[dev]'``). Output depends only on the .proto files and the
generator versions (grpcio-tools, mypy-protobuf), which ``--check`` prints on a mismatch.

``--lint`` compiles a descriptor image with ``proto/`` as the root (so that package
``aalps.v1`` sits in ``aalps/v1/`` as buf expects) and runs ``buf lint`` on it with
``proto/buf.yaml``; the image carries the googleapis imports, so no Buf Schema Registry
access is needed. Get buf with ``npm install --prefix /tmp/buf @bufbuild/buf`` and pass
``--buf /tmp/buf/node_modules/.bin/buf`` (default: ``buf`` on PATH).
"""

from __future__ import annotations

import argparse
import difflib
import filecmp
import importlib
import importlib.metadata
import importlib.util
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import tempfile
from pathlib import Path
from typing import NoReturn

ROOT = Path(__file__).resolve().parent.parent
PROTO_DIR = ROOT / "proto"
#: Suffixes of the files the generators write beside each .proto.
GENERATED_SUFFIXES = ("_pb2.py", "_pb2.pyi", "_pb2_grpc.py", "_pb2_grpc.pyi")
#: The import package that the proto/ folder installs as (pyproject's package-dir).
IMPORT_PREFIX = "aalps."
#: What the import-path rewrite matches in generated code: an import statement of a module
#: under proto/, or the module name the generated code passes to protobuf's builder.
_PROTO_IMPORT = re.compile(r"^(from|import) (proto\.)", re.MULTILINE)
_PROTO_MODULE_NAME = re.compile(r"(['\"])(proto\.[\w.]+_pb2)\1")


def _fail(message: str) -> NoReturn:
    print(f"gen_proto: {message}", file=sys.stderr)
    raise SystemExit(2)


def proto_files() -> list[str]:
    """The .proto files under proto/, relative to the repository root, sorted."""
    files = sorted(p.relative_to(ROOT).as_posix() for p in PROTO_DIR.rglob("*.proto"))
    if not files:
        _fail(f"no .proto files under {PROTO_DIR}")
    return files


def _origin(module: str, missing: str) -> Path:
    """The file a module would be imported from (without importing it)."""
    try:
        spec = importlib.util.find_spec(module)
    except ModuleNotFoundError:
        spec = None
    if spec is None or spec.origin is None:
        _fail(missing)
    return Path(spec.origin).resolve()


def include_dirs() -> list[str]:
    """grpc_tools' well-known types, then googleapis-common-protos (google/rpc/*.proto)."""
    tools = _origin("grpc_tools", "grpcio-tools is not installed (pip install -e '.[dev]')")
    wkt = tools.parent / "_proto"
    if not (wkt / "google/protobuf/timestamp.proto").is_file():
        _fail(f"grpc_tools' bundled protos are missing from {wkt}")
    status = _origin(
        "google.rpc.status_pb2",
        "googleapis-common-protos is not installed (pip install grpcio-status)",
    )
    googleapis = status.parent.parent.parent
    if not (googleapis / "google/rpc/status.proto").is_file():
        _fail(f"google/rpc/status.proto is not in {googleapis} (googleapis-common-protos)")
    return [str(wkt), str(googleapis)]


def _plugin(name: str) -> str:
    for directory in (sysconfig.get_path("scripts"), str(Path(sys.executable).parent)):
        for candidate in (Path(directory) / name, Path(directory) / f"{name}.exe"):
            if candidate.is_file():
                return str(candidate)
    found = shutil.which(name)
    if found is None:
        _fail(f"{name} not found: install mypy-protobuf beside {sys.executable}")
    return found


def _protoc(args: list[str]) -> None:
    """Run protoc in-process; its stderr (and its plugins') is shown only on failure."""
    protoc = importlib.import_module("grpc_tools.protoc")
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as captured:
        os.dup2(captured.fileno(), 2)
        try:
            code = protoc.main(["grpc_tools.protoc", *args])
        finally:
            os.dup2(saved, 2)
            os.close(saved)
        captured.seek(0)
        messages = captured.read().decode("utf-8", "replace")
    if code != 0:
        sys.stderr.write(messages)
        _fail(f"protoc failed (exit {code}): protoc {' '.join(args)}")


def generate(out: Path) -> list[Path]:
    """Generate every proto's Python code under ``out``; return the files, relative."""
    out.mkdir(parents=True, exist_ok=True)
    _protoc(
        [
            f"-I{ROOT}",
            *(f"-I{d}" for d in include_dirs()),
            f"--plugin=protoc-gen-mypy={_plugin('protoc-gen-mypy')}",
            f"--plugin=protoc-gen-mypy_grpc={_plugin('protoc-gen-mypy_grpc')}",
            f"--python_out={out}",
            f"--grpc_python_out={out}",
            f"--mypy_out={out}",
            f"--mypy_grpc_out={out}",
            *(str(ROOT / f) for f in proto_files()),
        ]
    )
    generated = sorted(p.relative_to(out) for p in out.rglob("*") if p.is_file())
    for rel in generated:
        _to_import_package(out / rel)
    return generated


def _to_import_package(path: Path) -> None:
    """Rewrite a generated file's ``proto.`` module paths to ``aalps.proto.``."""
    text = path.read_text(encoding="utf-8")
    text = _PROTO_IMPORT.sub(rf"\1 {IMPORT_PREFIX}\2", text)
    text = _PROTO_MODULE_NAME.sub(rf"\1{IMPORT_PREFIX}\2\1", text)
    path.write_text(text, encoding="utf-8")


def committed_files() -> list[Path]:
    """Generated-looking files now in the tree (to spot stale ones)."""
    return sorted(
        p.relative_to(ROOT)
        for p in PROTO_DIR.rglob("*")
        if p.is_file() and p.name.endswith(GENERATED_SUFFIXES)
    )


def _versions() -> str:
    names = ("grpcio-tools", "protobuf", "mypy-protobuf")
    parts = []
    for name in names:
        try:
            parts.append(f"{name} {importlib.metadata.version(name)}")
        except importlib.metadata.PackageNotFoundError:
            parts.append(f"{name} (not installed)")
    return ", ".join(parts)


def check() -> int:
    """Regenerate into a temporary directory and compare with the committed files."""
    with tempfile.TemporaryDirectory(prefix="aalps-gen-proto-") as tmp:
        fresh = Path(tmp)
        generated = generate(fresh)
        problems = []
        for rel in generated:
            committed = ROOT / rel
            if not committed.is_file():
                problems.append(f"missing: {rel} (not generated/committed)")
                continue
            if filecmp.cmp(committed, fresh / rel, shallow=False):
                continue
            old = committed.read_text(encoding="utf-8").splitlines(keepends=True)
            new = (fresh / rel).read_text(encoding="utf-8").splitlines(keepends=True)
            diff = list(difflib.unified_diff(old, new, f"committed/{rel}", f"generated/{rel}"))
            added = sum(1 for line in diff if line.startswith("+") and not line.startswith("+++"))
            removed = sum(1 for line in diff if line.startswith("-") and not line.startswith("---"))
            problems.append(f"differs: {rel} (+{added} -{removed} lines)")
            problems.extend("    " + line.rstrip("\n") for line in diff[:40])
            if len(diff) > 40:
                problems.append(f"    ... {len(diff) - 40} more diff lines")
        for rel in sorted(set(committed_files()) - set(generated)):
            problems.append(f"stale: {rel} (no .proto generates it any more)")
    if problems:
        print("gen_proto --check: generated code is out of date with proto/:")
        print("\n".join(problems))
        print(f"generator versions here: {_versions()}")
        print("run `python scripts/gen_proto.py` and commit the result")
        return 1
    print(f"gen_proto --check: {len(generated)} generated files up to date")
    return 0


def write() -> int:
    """Regenerate in place (through a temporary directory: no partial output)."""
    with tempfile.TemporaryDirectory(prefix="aalps-gen-proto-") as tmp:
        fresh = Path(tmp)
        generated = generate(fresh)
        for rel in generated:
            target = ROOT / rel
            changed = not target.is_file() or not filecmp.cmp(target, fresh / rel, shallow=False)
            if changed:
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(fresh / rel, target)
            print(f"{'wrote' if changed else 'unchanged'}: {rel}")
    for rel in sorted(set(committed_files()) - set(generated)):
        (ROOT / rel).unlink()
        print(f"removed stale: {rel}")
    return 0


def lint(buf: str) -> int:
    """buf lint the protos with proto/buf.yaml, from a protoc-built descriptor image."""
    executable = shutil.which(buf) or (buf if Path(buf).is_file() else None)
    if not executable:
        _fail(f"buf not found ({buf!r}): npm install --prefix /tmp/buf @bufbuild/buf")
    module_files = [Path(f).relative_to("proto").as_posix() for f in proto_files()]
    with tempfile.TemporaryDirectory(prefix="aalps-buf-") as tmp:
        image = Path(tmp) / "image.binpb"
        _protoc(
            [
                f"-I{PROTO_DIR}",
                *(f"-I{d}" for d in include_dirs()),
                "--include_imports",
                "--include_source_info",
                f"--descriptor_set_out={image}",
                *(str(PROTO_DIR / f) for f in module_files),
            ]
        )
        command = [executable, "lint", str(image), "--config", str(PROTO_DIR / "buf.yaml")]
        for f in module_files:
            command += ["--path", f]
        result = subprocess.run(command, check=False)  # noqa: S603 - fixed argv
    if result.returncode == 0:
        print(f"buf lint: {len(module_files)} file(s) clean")
    return result.returncode


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument(
        "--check", action="store_true", help="exit 1 if the committed code is out of date"
    )
    mode.add_argument("--lint", action="store_true", help="run buf lint with proto/buf.yaml")
    parser.add_argument("--buf", default="buf", help="the buf executable (default: on PATH)")
    args = parser.parse_args(argv)
    if args.check:
        return check()
    if args.lint:
        return lint(args.buf)
    return write()


if __name__ == "__main__":
    sys.exit(main())
