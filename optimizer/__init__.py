"""Search over decompositions × model assignments: exact where the structure allows, Optuna
for the coupled remainder, Pareto fronts, crossover analysis (DESIGN §2, "Search")."""

from aalps.optimizer.api import analyze_plan, optimize
from aalps.optimizer.baseline import baseline_plan
from aalps.optimizer.result import (
    AnalysisResult,
    Crossover,
    OptimizeResult,
    Progress,
    SearchCancelled,
    SearchStats,
)

__all__ = [
    "AnalysisResult",
    "Crossover",
    "OptimizeResult",
    "Progress",
    "SearchCancelled",
    "SearchStats",
    "analyze_plan",
    "baseline_plan",
    "optimize",
]
