"""Figures shared between tasks that look alike to an operator change no space.

The oracle is the enumeration with the sharing switched off (``share=False``): every task
plan scored by the evaluator for its own task.
"""

from __future__ import annotations

import math
from typing import Any

import pytest
from aalps.cost_models.domain import Operator, OptimizeRequest
from aalps.cost_models.evaluation import PlanEvaluator
from aalps.cost_models.loading import load_request
from aalps.cost_models.operators import OPERATORS
from aalps.cost_models.shape_fields import exact_values as _exact
from aalps.optimizer.enumeration import SpaceBuilder
from aalps.optimizer.operator_twins import SharedOutcomes, scored_fields
from aalps.optimizer.ray import FAR_SCALE
from aalps.optimizer.space import Metrics, TaskSpace

from tests.optimizer.conftest import EXAMPLES, example
from tests.optimizer.random_requests import wide_request_data


def _spaces(
    request: OptimizeRequest, share: bool, far: bool = True
) -> tuple[list[TaskSpace], SpaceBuilder]:
    evaluator = PlanEvaluator(request)
    metrics = Metrics.of(request, far=far)
    builder = SpaceBuilder(evaluator, metrics, evaluator.at(FAR_SCALE), share=share)
    return [builder.build(i, t) for i, t in enumerate(request.graph.tasks)], builder


def _figures(spaces: list[TaskSpace]) -> list[Any]:
    """Everything a space holds, as text (nan figures compare equal that way)."""
    return [
        (
            repr([(c.plan, c.outcome, c.far) for c in s.candidates]),
            repr(
                {
                    op: [(c.plan, c.outcome, c.far) for c in kept]
                    for op, kept in s.by_operator.items()
                }
            ),
            {op: (o.models, o.votes, o.params) for op, o in s.operators.items()},
            s.problems,
            s.scored,
        )
        for s in spaces
    ]


@pytest.mark.parametrize("seed", range(1, 5))
@pytest.mark.parametrize("far", [True, False])
def test_shared_spaces_are_the_unshared_ones(seed: int, far: bool) -> None:
    request = load_request(wide_request_data(seed, 60, 8))
    shared, builder = _spaces(request, share=True, far=far)
    alone, oracle = _spaces(request, share=False, far=far)
    assert oracle.shared is None
    assert _figures(shared) == _figures(alone)
    assert builder.shared is not None
    assert builder.shared.hits > 50  # the sharing did answer (205 distinct plans at seed 1)
    assert sum(s.scored for s in shared) == sum(s.scored for s in alone)


@pytest.mark.parametrize("seed", [1, 4])
def test_mpmath_shapes_do_not_keep_plans_apart(seed: int) -> None:
    """Far along the ray many successes underflow and the first task's figures may come
    from its mpmath shape: a later task whose own is not worked out yet gets it worked out
    and compared, so the far point shares every plan the scale point alone shares (before,
    such a task took none of the plans whose first figures may have come from mpmath), with
    the oracle's figures."""
    request = load_request(wide_request_data(seed, 60, 8))
    far, with_far = _spaces(request, share=True)
    _, near_only = _spaces(request, share=True, far=False)
    alone, _ = _spaces(request, share=False)
    assert _figures(far) == _figures(alone)
    assert with_far.shared is not None and near_only.shared is not None
    assert with_far.shared.hits == near_only.shared.hits > 100


@pytest.mark.parametrize("name", sorted(p.stem for p in EXAMPLES.glob("*.yaml")))
def test_examples_are_unchanged(name: str) -> None:
    request = example(name)
    assert _figures(_spaces(request, share=True)[0]) == _figures(_spaces(request, share=False)[0])


def _two_tasks(*later: dict[str, Any]) -> OptimizeRequest:
    """Tasks alike (``a``, ``b``, ...) but for what each of ``later`` adds to the next one."""
    task = {"capability": "solve", "input_tokens": "n", "output_tokens": "4", "prompt_tokens": 20}
    tasks = [{"id": "a", **task}]
    tasks += [{"id": chr(ord("b") + i), **task, **extra} for i, extra in enumerate(later)]
    return load_request(
        {
            "graph": {
                "name": "alike",
                "parameters": [{"name": "n", "value": 400}, {"name": "k", "value": 5}],
                "tasks": tasks,
            },
            "catalog": {
                "models": [
                    {"name": "big", "size": 70, "capabilities": {"solve": 0.95}},
                    {"name": "small", "size": 8, "capabilities": {"solve": 0.8}},
                ]
            },
            "search": {"objective": "COST_OF_PASS"},
        }
    )


def test_a_field_direct_does_not_read_shares_its_figures() -> None:
    """Blocks change MAP's figures, not DIRECT's: DIRECT's are the first task's, the same
    objects, and the oracle's numbers."""
    request = _two_tasks({"blocks": {"count": "k", "size": "n/k"}})
    (a, b), builder = _spaces(request, share=True)
    (_, b_alone), _ = _spaces(request, share=False)
    direct_a, direct_b = a.by_operator[Operator.DIRECT], b.by_operator[Operator.DIRECT]
    assert [c.plan.task_id for c in direct_b] == ["b"] * len(direct_b)
    assert [c.outcome for c in direct_b] == [c.outcome for c in direct_a]
    assert all(x.outcome is y.outcome for x, y in zip(direct_a, direct_b, strict=True))
    # Only DIRECT applies to both (MAP needs the blocks): every plan of it was shared.
    assert set(a.operators) == {Operator.DIRECT}
    assert builder.shared is not None and builder.shared.hits == a.scored > 0
    assert _figures([b]) == _figures([b_alone])
    # Left in the evaluators' caches, as b's own scoring would have left them.
    assert builder.far is not None
    for c in direct_b:
        assert builder.evaluator._outcomes[c.plan] is c.outcome
        assert c.far is not None and builder.far._outcomes[c.plan] is c.far
    assert Operator.MAP in b.by_operator and Operator.MAP not in a.by_operator
    assert direct_b[0].outcome.expected_cost == pytest.approx(
        b_alone.by_operator[Operator.DIRECT][0].outcome.expected_cost, rel=0
    )


def test_a_field_direct_reads_keeps_figures_apart() -> None:
    request = _two_tasks({"output_tokens": "5"})
    (a, b), builder = _spaces(request, share=True)
    assert builder.shared is not None and builder.shared.hits == 0
    cost_a = a.by_operator[Operator.DIRECT][0].outcome.expected_cost
    cost_b = b.by_operator[Operator.DIRECT][0].outcome.expected_cost
    assert cost_b > cost_a


def test_keys_tell_apart_what_equality_does_not() -> None:
    assert _exact((1.0, 2)) == _exact((1.0, 2))
    assert _exact((1, 2)) != _exact((1.0, 2))  # equal and equally hashed, another type
    assert _exact((True,)) != _exact((1,))
    assert _exact((-0.0, 1.0)) is None  # a sign a division would show
    assert _exact((0.0, 1.0)) is not None
    nan = math.nan
    assert _exact((nan,)) == _exact((nan,))  # the same object: the same figures


def test_an_acceptance_adds_the_unverified_fields() -> None:
    plain = _two_tasks({}).graph.tasks[0]
    accepted = _two_tasks({"acceptance": {"success_probability": 0.8}}).graph.tasks[1]
    direct = scored_fields(Operator.DIRECT, plain)
    assert direct is not None and "acceptance" not in direct and "block_count" not in direct
    assert set(scored_fields(Operator.DIRECT, accepted) or ()) - set(direct) == {
        "acceptance",
        "block_count",
    }
    assert scored_fields(Operator.CASCADE, plain) is None
    assert scored_fields(Operator.CHUNK_AGGREGATE, plain) is None


def test_a_twin_task_is_left_to_its_twin() -> None:
    """``b`` is ``a``'s twin (the evaluator answers it), ``c`` differs in its blocks only:
    ``c`` looks DIRECT's figures up under ``a``, the first task of their key."""
    request = _two_tasks({}, {"blocks": {"count": "k", "size": "n/k"}})
    evaluator = PlanEvaluator(request)
    shared = SharedOutcomes(evaluator, None)
    a, b, c = request.graph.tasks
    assert evaluator.facts.twins == {"b": "a"}
    roles = OPERATORS[Operator.DIRECT].roles(a)
    assert shared.table(a, Operator.DIRECT, roles) is None  # the first: nothing to look up
    assert shared.table(b, Operator.DIRECT, roles) is None  # a twin
    table = shared.table(c, Operator.DIRECT, roles)
    assert table is not None and table.first == "a"
