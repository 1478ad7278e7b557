"""Test-only: a Python process started with this folder on ``PYTHONPATH`` searches by TPE alone.

The chaos test starts its server replicas so, to interrupt searches that have trials to
lose and compare their plans with uninterrupted in-process runs (:mod:`tests.search_hooks`).
"""

from tests.search_hooks import apply

apply()
