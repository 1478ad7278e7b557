#!/usr/bin/env python3
"""Generate the request reference and the JSON Schema of request files from the .proto.

Run from the repository root (or anywhere: paths are relative to it):

    python scripts/gen_docs.py            # write docs/requests.md, docs/request.schema.json
    python scripts/gen_docs.py --check    # exit 1 when either differs from the .proto (CI)

Both come from :mod:`aalps.proto.request_docs`: the messages a request uses (the generated
descriptors) and the comments of ``proto/aalps/v1/aalps.proto``; ``aalps schema`` prints
the same schema. Run ``scripts/gen_proto.py`` first when the .proto changed.
"""

from __future__ import annotations

import argparse
import difflib
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"


def outputs() -> dict[Path, str]:
    """Each generated file and its text."""
    from aalps.proto.request_docs import request_reference, request_schema

    schema = json.dumps(request_schema(), indent=2, ensure_ascii=False) + "\n"
    return {DOCS / "requests.md": request_reference(), DOCS / "request.schema.json": schema}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--check", action="store_true", help="fail when a file is out of date")
    args = parser.parse_args(argv)
    stale = []
    for path, text in outputs().items():
        old = path.read_text(encoding="utf-8") if path.is_file() else ""
        if old == text:
            print(f"unchanged: {path.relative_to(ROOT)}")
            continue
        if args.check:
            stale.append(path)
            diff = difflib.unified_diff(
                old.splitlines(),
                text.splitlines(),
                f"committed/{path.name}",
                "generated",
                lineterm="",
            )
            print("\n".join(list(diff)[:40]), file=sys.stderr)
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        print(f"wrote: {path.relative_to(ROOT)}")
    if stale:
        names = ", ".join(str(p.relative_to(ROOT)) for p in stale)
        print(f"gen_docs: out of date: {names}; run python scripts/gen_docs.py", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    raise SystemExit(main())
