"""Federated analysis of the registry's sites (issue 13): the vantage6 algorithm run from redif.

The algorithm itself (``federated/vantage6`` in the repository, package ``redif_vantage6``) lives in its
own environment, as it does in reality in its own Docker image at each node: vantage6-algorithm-tools 4.x
pins SQLAlchemy 1.4 while redif needs 2.x. :func:`run_algorithm` runs it over one CSV per site with
vantage6's ``MockAlgorithmClient`` in that environment (``.venv-vantage6``, ``make vantage6-env``);
:func:`simulate` turns its aggregates into the same JSON as the central commands (two-stage pools with
redif's meta-analysis engine).
"""

from redif.federated.runner import ENV_PYTHON, algorithm_python, run_algorithm
from redif.federated.simulate import pool_site_counts, simulate, suppressed_by_site

__all__ = ["ENV_PYTHON", "algorithm_python", "pool_site_counts", "run_algorithm", "simulate",
           "suppressed_by_site"]
