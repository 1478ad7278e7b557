"""SearchStats on the wire: the method, the proven gap (unset when none) and what was skipped."""

from __future__ import annotations

import pytest
from aalps.optimizer import SearchStats
from aalps.proto.aalps.v1 import aalps_pb2 as pb
from aalps.proto.convert import stats_from_proto, stats_to_proto


@pytest.mark.parametrize(
    "stats",
    [
        SearchStats(3, True, 0.5, 120, method="pareto dp", gap=0.0),
        SearchStats(7, False, 2.0, 40, method="pareto dp (epsilon)", gap=0.01),
        SearchStats(200, False, 9.5, 1000, method="tpe", gap=None, skipped=("crossovers",)),
    ],
)
def test_stats_survive_a_round_trip_through_bytes(stats: SearchStats) -> None:
    wire = pb.SearchStats.FromString(stats_to_proto(stats).SerializeToString())
    assert stats_from_proto(wire) == stats


def test_an_unknown_gap_is_unset_and_an_exact_one_is_zero() -> None:
    unknown = stats_to_proto(SearchStats(1, False, 1.0, 1, method="tpe"))
    exact = stats_to_proto(SearchStats(1, True, 1.0, 1, method="enumeration", gap=0.0))
    assert not unknown.HasField("gap")
    assert exact.HasField("gap") and exact.gap == 0.0
    assert exact.method == "enumeration"
