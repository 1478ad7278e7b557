"""Random symbolic costs for the separation shortcuts' tests (``_apart_roles``,
``_cancel_free``): terms of one model symbol times a few growth factors, as task costs are."""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import Any

import sympy

k, l, b = sympy.symbols("k l b", positive=True)  # noqa: E741
m1, m2, m3, m4 = sympy.symbols("m_m1 m_m2 m_m3 m_m4", positive=True)
GROWING = (k, l, b)
MODELS = (m1, m2, m3, m4)


def context(assumptions: Sequence[Any] = ()) -> dict[str, Any]:
    """The Θ analysis context of these symbols (``derive_bound``'s keywords)."""
    return {"growing": GROWING, "model_symbols": MODELS, "assumptions": tuple(assumptions)}


def random_cost(
    rng: random.Random, models: Sequence[sympy.Symbol], factors: Sequence[sympy.Expr]
) -> sympy.Expr:
    """A sum of 1–5 terms, each a model times 1–3 of ``factors`` times 1–3."""
    terms = []
    for _ in range(rng.randint(1, 5)):
        picked = rng.sample(list(factors), rng.randint(1, 3))
        terms.append(rng.choice(models) * sympy.Mul(*picked) * rng.randint(1, 3))
    return sympy.Add(*terms)
