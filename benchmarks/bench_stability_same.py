"""The stability ranges' CPU seconds here and in another tree, on the same plans, in one run.

Run ``python -m benchmarks.bench_stability_same --against /tmp/old [--repeat 2]
[--random 100] [--wide 50x20:3,1000x10:1] [--chain 30]``.

Optimizes each request once (this tree), keeping what :func:`~aalps.optimizer.api._analysis`
hands :func:`~aalps.optimizer.stability.stability_ranges` and a copy of the evaluator's
caches as they were then (warm from the search, as in a real run). Then it times
``stability_ranges`` of this tree and of ``--against``'s (its ``optimizer/stability*.py``
loaded under other module names, the rest of the package shared), alternating, each on
its own copy of the warm evaluator, with the collector's thresholds optimize runs under
(:func:`~aalps.optimizer.collection_pause.fewer_collections`), and checks that both give
the same ranges (every field; floats compared by ``repr``). Prints the least CPU seconds
of ``--repeat`` rounds.
"""

from __future__ import annotations

import argparse
import copy
import re
import sys
import time
import types
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import optuna
import yaml
from aalps.cost_models.evaluation import PlanEvaluator
from aalps.cost_models.loading import load_request
from aalps.optimizer import api
from aalps.optimizer.collection_pause import fewer_collections

from tests.optimizer.chain_requests import chain_request_data
from tests.optimizer.random_requests import random_request_data, wide_request_data

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
Ranges = Callable[..., tuple[Any, ...]]


def load_stability(tree: str) -> Ranges:
    """``stability_ranges`` of ``tree``: its ``optimizer/stability*.py`` modules run under
    the package ``_against`` (importing one another there), everything else shared."""
    package = types.ModuleType("_against")
    package.__path__ = []
    sys.modules["_against"] = package
    files = sorted(Path(tree, "optimizer").glob("stability*.py"))
    names = [f.stem for f in files]
    pending = dict(zip(names, files, strict=True))

    def load(name: str) -> types.ModuleType:
        known = sys.modules.get(f"_against.{name}")
        if known is not None:
            return known
        source = pending[name].read_text()
        for other in sorted(names, key=len, reverse=True):
            source = source.replace(f"aalps.optimizer.{other}", f"_against.{other}")
        module = types.ModuleType(f"_against.{name}")
        module.__file__ = str(pending[name])
        sys.modules[module.__name__] = module
        for other in names:  # the modules it imports first (not the ones its text names)
            imported = rf"^\s*(from|import)\s+_against\.{other}\b"
            if other != name and re.search(imported, source, re.MULTILINE):
                load(other)
        exec(compile(source, str(pending[name]), "exec"), module.__dict__)  # noqa: S102
        return module

    return load("stability").stability_ranges  # type: ignore[no-any-return]


def warm_copy(evaluator: PlanEvaluator) -> PlanEvaluator:
    """The evaluator with copies of its caches: what one run scores the next does not see."""
    twin = copy.copy(evaluator)
    for name, value in vars(evaluator).items():
        if isinstance(value, dict) and name.startswith("_"):
            kept = {k: dict(v) if isinstance(v, dict) else v for k, v in value.items()}
            setattr(twin, name, kept)
    return twin


def digest(ranges: Sequence[Any]) -> list[tuple[str, ...]]:
    """Every field of every range, floats by ``repr`` (so ``-0.0`` differs from ``0.0``)."""
    fields = ("model", "field", "low", "high", "below", "above", "capability", "conditional")
    return [tuple(repr(getattr(r, f)) for f in fields) for r in ranges]


def captured(requests: Sequence[Any]) -> list[tuple[PlanEvaluator, Any, Any, bool]]:
    """Per request what its optimize hands ``stability_ranges`` (the evaluator's caches
    copied at that moment)."""
    seen: list[tuple[PlanEvaluator, Any, Any, bool]] = []
    ranges = api.stability_ranges

    def keep(evaluator: PlanEvaluator, plan: Any, spaces: Any, *, ratio: bool) -> Any:
        seen.append((warm_copy(evaluator), plan, spaces, ratio))
        return ranges(evaluator, plan, spaces, ratio=ratio)

    api.stability_ranges = keep  # type: ignore[assignment]
    try:
        for request in requests:
            before = len(seen)
            api.optimize(request)
            del seen[before + 1 :]
    finally:
        api.stability_ranges = ranges
    return seen


#: The coupling constraints of the ``--chain`` requests, and their objectives.
CHAIN_CONSTRAINTS = ("max_latency", "max_cost", "min_success_probability")
CHAIN_OBJECTIVES = ("EXPECTED_COST", "COST_OF_PASS")


def chains(count: int) -> list[Any]:
    """``count`` seeded chains and series-parallel graphs with a binding constraint."""
    found = []
    for seed in range(count):
        constraint = CHAIN_CONSTRAINTS[seed % 3]
        objective = CHAIN_OBJECTIVES[seed // 3 % 2]
        shape = "chain" if seed % 2 else "series_parallel"
        data = chain_request_data(
            seed, 8 + seed % 9, 6, constraint=constraint, objective=objective, shape=shape
        )
        found.append(load_request(data))
    return found


def groups(random_n: int, wide: str, chain_n: int = 0) -> dict[str, list[Any]]:
    found: dict[str, list[Any]] = {}
    if chain_n:
        found[f"coupled x{chain_n}"] = chains(chain_n)
    for item in filter(None, wide.split(",")):
        size, _, count = item.partition(":")
        n, m = (int(x) for x in size.split("x"))
        seeds = range(1, 1 + int(count or 1))
        found[f"wide {size} x{len(seeds)}"] = [
            load_request(wide_request_data(s, n, m)) for s in seeds
        ]
    if random_n:
        found[f"random 1-{random_n}"] = [
            load_request(random_request_data(s)) for s in range(1, random_n + 1)
        ]
        found["examples"] = [
            load_request(yaml.safe_load(p.read_text())) for p in sorted(EXAMPLES.glob("*.yaml"))
        ]
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--against", required=True, help="the other tree (e.g. /tmp/old)")
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--random", type=int, default=100, help="random_request_data seeds")
    parser.add_argument("--chain", type=int, default=0, help="coupled requests")
    parser.add_argument("--wide", default="50x20:3,1000x10:1", help="SIZE:COUNT,...")
    args = parser.parse_args()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    theirs = load_stability(args.against)
    ours = api.stability_ranges
    print(f"{'requests':>22}  {'here s':>8}  {'against s':>9}  ratio  same")
    for name, requests in groups(args.random, args.wide, args.chain).items():
        calls = captured(requests)
        best = {"here": float("inf"), "there": float("inf")}
        same = True
        for _ in range(args.repeat):
            for who, ranges in (("there", theirs), ("here", ours)):
                results = []
                copies = [(warm_copy(e), p, s, r) for e, p, s, r in calls]
                started = time.process_time()
                with fewer_collections():  # as inside optimize
                    for evaluator, plan, spaces, ratio in copies:
                        results.append(ranges(evaluator, plan, spaces, ratio=ratio))
                best[who] = min(best[who], time.process_time() - started)
                if who == "there":
                    expected = [digest(r) for r in results]
                else:
                    same = same and [digest(r) for r in results] == expected
        print(
            f"{name:>22}  {best['here']:8.3f}  {best['there']:9.3f}  "
            f"{best['there'] / best['here']:5.2f}  {'yes' if same else 'NO'}"
        )


if __name__ == "__main__":
    main()
