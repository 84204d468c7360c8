"""The public API contract of ``redif.evidence.meta`` that the evidence base and the CLI build on."""

from __future__ import annotations

import dataclasses
import json

import pytest

from redif.cli._common import to_jsonable
from redif.errors import InputError
from redif.evidence import meta

CONTRACT = ["k", "measure", "method", "mu", "se", "estimate", "ci_lower", "ci_upper", "pi_lower", "pi_upper",
            "tau2", "i2", "h2", "q", "q_df", "q_p"]


def test_pool_result_dict_starts_with_contract_keys() -> None:
    """to_dict() begins with the issue-2 JSON keys in order, ends with studies, and is strict JSON."""
    res = meta.pool_proportions([3, 5, 9], [20, 21, 30], labels=["a", "b", "c"])
    d = res.to_dict()
    assert list(d)[: len(CONTRACT)] == CONTRACT
    assert list(d)[-1] == "studies"
    assert [s["label"] for s in d["studies"]] == ["a", "b", "c"]
    assert set(d["studies"][0]) == {"label", "events", "total", "yi", "vi", "estimate", "ci_lower",
                                    "ci_upper",
                                    "weight_percent"}
    json.dumps(to_jsonable(d), allow_nan=False)


def test_results_are_frozen() -> None:
    """Result objects are immutable."""
    res = meta.pool_generic([0.1, 0.3, 0.2], [0.01, 0.02, 0.015])
    with pytest.raises(dataclasses.FrozenInstanceError):
        res.mu = 0.0  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        res.studies[0].yi = 0.0  # type: ignore[misc]


def test_subgroup_and_regression_dicts() -> None:
    """SubgroupResult and RegressionResult dictionaries carry the keys of the CLI contract."""
    sub = meta.pool_subgroups([3, 5, 9, 4, 6], [20, 21, 30, 10, 15], ["x", "x", "y", "y", "y"])
    d = sub.to_dict()
    assert list(d["subgroups"]) == ["x", "y"]
    assert list(d["subgroups"]["x"])[: len(CONTRACT)] == CONTRACT
    assert set(d["test_between"]) == {"q", "df", "p"}
    yi, vi = meta.escalc("PLO", [3, 5, 9, 4, 6], [20, 21, 30, 10, 15])
    reg = meta.meta_regression(yi, vi, {"w": [1.0, 2.0, 3.0, 4.0, 5.0]}).to_dict()
    for key in ("coefficients", "qm", "qm_p", "qe", "qe_p", "r2", "tau2", "k"):
        assert key in reg
    assert set(reg["coefficients"][0]) == {"name", "estimate", "se", "stat", "p", "ci_lower", "ci_upper"}


def test_facade_exports() -> None:
    """Everything named in __all__ is importable from the facade."""
    for name in meta.__all__:
        assert hasattr(meta, name), name


def test_escalc_rejects_gen() -> None:
    """escalc is for proportion measures; GEN takes yi/vi directly."""
    with pytest.raises(InputError, match="proportion measure"):
        meta.escalc("GEN", [1, 2], [10, 10])
