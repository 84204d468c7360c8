"""redif.design: Simon two-stage, exact single-stage, Bayesian (MAP) and randomised trial designs.

Entry points: :func:`simon_design`, :func:`single_stage_designs`, :func:`simon_inference`,
:func:`map_prior`, :class:`BetaMixture`, :func:`bayes_decision`, :func:`oc_table`,
:func:`two_arm_binary`, :func:`survival_design`. See ``docs/design.md``.
"""

from __future__ import annotations

from redif.design.bayes import MAPPrior, map_posterior, map_prior
from redif.design.exact import SingleStageDesign, single_stage_designs, single_stage_oc
from redif.design.inference import SimonInference, simon_inference
from redif.design.mixture import BetaMixture, EffectiveSampleSize, effective_sample_size
from redif.design.oc import BayesDecision, OCTable, bayes_decision, bayes_oc, oc_table
from redif.design.randomised import (
    SurvivalDesign,
    TwoArmDesign,
    event_probability,
    schoenfeld_events,
    survival_design,
    two_arm_binary,
)
from redif.design.simon import SimonDesign, SimonOC, SimonResult, simon_design, simon_oc

__all__ = [
    "BayesDecision",
    "BetaMixture",
    "EffectiveSampleSize",
    "MAPPrior",
    "OCTable",
    "SimonDesign",
    "SimonInference",
    "SimonOC",
    "SimonResult",
    "SingleStageDesign",
    "SurvivalDesign",
    "TwoArmDesign",
    "bayes_decision",
    "bayes_oc",
    "effective_sample_size",
    "event_probability",
    "map_posterior",
    "map_prior",
    "oc_table",
    "schoenfeld_events",
    "simon_design",
    "simon_inference",
    "simon_oc",
    "single_stage_designs",
    "single_stage_oc",
    "survival_design",
    "two_arm_binary",
]
