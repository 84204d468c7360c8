"""Issue 12: the multilevel (nested random-effects) model against R metafor ``rma.mv``.

Expected values: ``tests/evidence/data/multilevel_reference.json``, written by
``tests/evidence/data/multilevel_reference.R`` (run from the repository root)::

    Rscript tests/evidence/data/multilevel_reference.R > tests/evidence/data/multilevel_reference.json

Each case is ``rma.mv(yi, vi, [mods = ~ ...,] random = ~ 1 | outer/inner, method = "REML"|"ML")`` with
``predict()`` for the prediction interval (``newmods = 0`` with moderators) and ``transf.ilogit`` for the
proportion scale (``transf.ipft.hm`` with the study sizes for the one PFT case). Data: metafor's
``dat.konstantopoulos2011`` (56 schools in 11 districts, GEN; both components interior) exported to
``konstantopoulos2011.csv``; ``multilevel_arms.csv`` (14 arms in 6 trials, PLO; the trial component at
the boundary 0) and ``multilevel_homog.csv`` (13 arms in 6 trials, PLO and PFT; the arm component at the
boundary 0), made up for these tests.
"""

from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path
from typing import Any

import pytest

from redif.cli.main import main
from redif.errors import InputError
from redif.evidence.multilevel import MultilevelResult, parse_random, pool_multilevel, pool_multilevel_file

DATA = Path(__file__).parent / "data"
REF: dict[str, Any] = json.loads((DATA / "multilevel_reference.json").read_text())
TOL = 1e-4

#: case key -> (file, random, measure, moderators)
CASES: dict[str, tuple[str, str, str, str | None]] = {}
for _m in ("REML", "ML"):
    CASES[f"k11_{_m}"] = ("konstantopoulos2011.csv", "district/school", "GEN", None)
    CASES[f"k11_{_m}_year"] = ("konstantopoulos2011.csv", "district/school", "GEN", "year")
    CASES[f"arms_{_m}"] = ("multilevel_arms.csv", "trial/arm", "PLO", None)
    CASES[f"arms_{_m}_genotype"] = ("multilevel_arms.csv", "trial/arm", "PLO", "genotype")
    CASES[f"arms_{_m}_genotype_weeks"] = ("multilevel_arms.csv", "trial/arm", "PLO", "genotype,weeks")
    CASES[f"homog_{_m}"] = ("multilevel_homog.csv", "trial/arm", "PLO", None)
CASES["homog_REML_PFT"] = ("multilevel_homog.csv", "trial/arm", "PFT", None)


def _listed(x: Any) -> list[float]:
    return [float(v) for v in (x if isinstance(x, list) else [x])]


def _fit(key: str) -> MultilevelResult:
    file, random, measure, mods = CASES[key]
    method = "ML" if "_ML" in key else "REML"  # "homog_REML_PFT": REML
    return pool_multilevel_file(DATA / file, random=random, measure=measure, method=method, moderators=mods)


def _cli(*args: str) -> tuple[int, str, str]:
    """Run ``redif meta pool ARGS`` in-process through the console entry point: (status, stdout, stderr)."""
    out, err = io.StringIO(), io.StringIO()
    code = 0
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            main(["meta", "pool", *args])
        except SystemExit as exc:
            code = int(exc.code or 0)
    return code, out.getvalue(), err.getvalue()


def _close(actual: float, expected: float) -> bool:
    return actual == pytest.approx(expected, abs=TOL, rel=TOL)


@pytest.mark.rref
@pytest.mark.parametrize("key", sorted(CASES))
def test_matches_rma_mv(key: str) -> None:
    """Issue 12: sigma2 (outer, inner), coefficients with SE/z/p/CI, QE, QM, logLik, the prediction
    interval and the back-transformed estimate equal metafor ``rma.mv`` at 1e-4 (R call per case in the
    module docstring; values from multilevel_reference.json)."""
    ref = REF[key]
    res = _fit(key)
    d = res.to_dict()
    assert d["k"] == ref["k"]
    assert res.n_levels == tuple(ref["s_nlevels"])
    sig = _listed(ref["sigma2"])
    assert all(_close(a, e) for a, e in zip(d["sigma2"], sig, strict=True)), (d["sigma2"], sig)
    beta = _listed(ref["beta"])
    for c, name, b, se, z, p, lo, hi in zip(res.coefficients, ref["names"] if isinstance(ref["names"], list)
                                            else [ref["names"]], beta, _listed(ref["se"]),
                                            _listed(ref["zval"]), _listed(ref["pval"]),
                                            _listed(ref["ci_lb"]), _listed(ref["ci_ub"]), strict=True):
        assert c.name == name
        for got, want in ((c.estimate, b), (c.se, se), (c.stat, z), (c.p, p), (c.ci_lower, lo),
                          (c.ci_upper, hi)):
            assert _close(got, want), (name, got, want)
    assert _close(d["mu"], beta[0]) and _close(d["se"], _listed(ref["se"])[0])
    assert _close(d["mu_pi_lower"], ref["pi_lb"]) and _close(d["mu_pi_upper"], ref["pi_ub"])
    for key_, rkey in (("estimate", "est"), ("ci_lower", "est_ci_lb"), ("ci_upper", "est_ci_ub"),
                       ("pi_lower", "est_pi_lb"), ("pi_upper", "est_pi_ub")):
        assert _close(d[key_], ref[rkey]), (key_, d[key_], ref[rkey])
    assert d["qe"] == pytest.approx(ref["QE"], rel=TOL) and d["qe_df"] == ref["QEdf"]
    assert _close(d["qe_p"], ref["QEp"])
    assert _close(d["loglik"], ref["logLik"])
    if len(beta) > 1:
        assert d["qm"] == pytest.approx(ref["QM"], rel=TOL) and d["qm_df"] == len(beta) - 1
        assert _close(d["qm_p"], ref["QMp"])
    else:
        assert "qm" not in d and "coefficients" not in d


@pytest.mark.rref
def test_boundary_components_reported_as_zero() -> None:
    """Issue 12: a variance component at the boundary is 0 (metafor's is 0 to its optimiser's
    tolerance, < 1e-6 here) and is named in the notes; the interior ones are positive."""
    arms, homog, k11 = _fit("arms_REML"), _fit("homog_REML"), _fit("k11_REML")
    assert arms.sigma2[0] == 0.0 and _listed(REF["arms_REML"]["sigma2"])[0] < 1e-6
    assert homog.sigma2[1] == 0.0 and _listed(REF["homog_REML"]["sigma2"])[1] < 1e-6
    assert any("trial" in n for n in arms.notes) and any("arm" in n for n in homog.notes)
    assert min(k11.sigma2) > 0.01 and not k11.notes


def test_inner_levels_are_pairs_within_outer() -> None:
    """Issue 12: inner codes repeat across outer units (school 1 in every district) and are distinct
    levels, as metafor's ``outer/inner`` (56 inner levels for 56 schools; metafor's s.nlevels)."""
    res = _fit("k11_REML")
    assert res.n_levels == (11, 56)


def test_refuses_bad_input() -> None:
    """Issue 12: bad random specification, method, or a single outer unit give InputError naming the
    field (hand-written cases)."""
    with pytest.raises(InputError) as e:
        parse_random("trial")
    assert e.value.field == "random"
    with pytest.raises(InputError) as e:
        parse_random("trial/trial")
    assert e.value.field == "random"
    with pytest.raises(InputError) as e:
        pool_multilevel([0.1, 0.2, 0.3], [0.1, 0.1, 0.1], ["a"] * 3, ["x", "y", "z"], method="DL")
    assert e.value.field == "method"
    with pytest.raises(InputError) as e:
        pool_multilevel([0.1, 0.2, 0.3], [0.1, 0.1, 0.1], ["a"] * 3, ["x", "y", "z"],
                        random=("trial", "arm"))
    assert e.value.field == "trial"
    with pytest.raises(InputError) as e:
        pool_multilevel_file(DATA / "multilevel_arms.csv", random="trial/cohort")
    assert e.value.field == "cohort"


def test_cli_json_keys() -> None:
    """Issue 12: ``redif meta pool FILE --random trial/arm --json`` gives the keys named in the issue
    (with ``--mods`` also coefficients, qm, qm_p); values equal the engine's (metafor-checked above)."""
    file = str(DATA / "multilevel_arms.csv")
    code, stdout, stderr = _cli(file, "--measure", "PLO", "--method", "ML", "--random", "trial/arm", "--json")
    assert code == 0, stderr
    out = json.loads(stdout)
    keys = {"k", "mu", "se", "ci_lower", "ci_upper", "pi_lower", "pi_upper", "estimate", "sigma2", "qe",
            "qe_df", "qe_p"}
    assert keys <= set(out) and not {"coefficients", "qm", "qm_p"} & set(out)
    assert len(out["sigma2"]) == 2
    assert out["mu"] == pytest.approx(_listed(REF["arms_ML"]["beta"])[0], abs=TOL)
    code, stdout, stderr = _cli(file, "--measure", "PLO", "--random", "trial/arm", "--mods", "genotype",
                                "--json")
    assert code == 0, stderr
    out = json.loads(stdout)
    assert keys | {"coefficients", "qm", "qm_p"} <= set(out)
    assert [c["name"] for c in out["coefficients"]] == ["intrcpt", "genotypeRAS", "genotypeWT"]


def test_cli_errors_name_flags() -> None:
    """Issue 12: CLI errors name the flag (--random, --method, --by), exit code 2 for bad input, no
    traceback."""
    file = str(DATA / "multilevel_arms.csv")
    cases = ((["--random", "trial"], "--random"), (["--random", "trial/arm", "--method", "DL"], "--method"),
             (["--random", "trial/arm", "--by", "genotype"], "--by"),
             (["--random", "trial/arm", "--mods", "genotype,nope"], "nope"))
    for extra, flag in cases:
        code, _, stderr = _cli(file, *extra)
        assert code == 2, (extra, stderr)
        assert flag in stderr and "Traceback" not in stderr
    code, stdout, stderr = _cli(file, "--random", "trial/arm")
    assert code == 0 and "sigma2 trial" in stdout, stderr
