"""redif: a workbench for radioiodine redifferentiation therapy in RAI-refractory thyroid cancer.

Decision support for qualified clinicians: every recommendation shows its rule and source.

Sub-packages
------------
evidence   the sourced evidence base and a metafor-grade meta-analysis engine
dosimetry  124I/131I kinetics, lesion, blood and voxel dosimetry, activity prescription
response   RECIST 1.1 and thyroglobulin kinetics
design     Simon two-stage, exact and Bayesian trial designs
pathway    per-patient assessment composing the engines
registry   multicentre registry (SQLAlchemy), access control, audit, de-identification
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

from redif.errors import InputError, RedifError

try:
    __version__ = version("redif")
except PackageNotFoundError:  # running from a source tree
    __version__ = "0.1.0"

DISCLAIMER = (
    "Decision support for a qualified clinician, not a substitute for clinical judgement. "
    "Every recommendation shows the rule and the source behind it; verify before acting."
)

__all__ = ["DISCLAIMER", "InputError", "RedifError", "__version__"]
