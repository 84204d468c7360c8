"""`redif meta pool` through the real command line: JSON contract and bad input (exit 2, one line).

Expected numbers are the metafor references in ``data/metafor_reference.json`` (dat.pritz1997 and
dat.debruin2009, see ``data/metafor_reference.R``). Two cases run ``python -m redif`` in a subprocess;
the others call the same entry point (``redif.cli.main.main``) in-process to keep the suite fast.
"""

from __future__ import annotations

import contextlib
import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

from redif.cli.main import main

REF = json.loads((Path(__file__).parent / "data" / "metafor_reference.json").read_text())
CONTRACT = ["k", "measure", "method", "mu", "se", "estimate", "ci_lower", "ci_upper", "pi_lower", "pi_upper",
            "tau2", "i2", "h2", "q", "q_df", "q_p"]


def _subprocess(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "redif", "meta", "pool", *args], capture_output=True,
                          text=True, timeout=300)


def _main(*argv: str) -> subprocess.CompletedProcess[str]:
    """Run the console entry point in-process; return what a subprocess would."""
    out, err = io.StringIO(), io.StringIO()
    code = 0
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            main(list(argv))
        except SystemExit as exc:
            code = int(exc.code or 0)
    return subprocess.CompletedProcess(list(argv), code, out.getvalue(), err.getvalue())


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return _main("meta", "pool", *args)


def _write(tmp_path: Path, text: str, name: str = "in.csv") -> Path:
    p = tmp_path / name
    p.write_text(text)
    return p


@pytest.fixture()
def debruin_csv(tmp_path: Path) -> Path:
    db = REF["debruin"]
    lines = ["study,events,total,ethnicity,patients,select,scq"]
    for i, (x, n, e, pa, s, q) in enumerate(zip(db["xi"], db["ni"], db["ethnicity"], db["patients"],
                                                db["select"], db["scq"], strict=True)):
        lines.append(f"S{i + 1},{x},{n},{e},{pa},{s},{q}")
    return _write(tmp_path, "\n".join(lines) + "\n")


def test_json_contract_and_values(debruin_csv: Path) -> None:
    """Default PLO/REML pooled keys; values equal the metafor reference for subgroups and regression.

    R::

        es <- escalc(measure="PLO", xi=xi, ni=ni, data=dat.debruin2009)
        rma(yi, vi, data=es, subset=ethnicity==l, method="REML")   # per group
        rma(yi, vi, mods = ~ scq + patients + select, data=es, method="REML")
    """
    proc = _subprocess(str(debruin_csv), "--by", "ethnicity", "--mods", "scq,patients,select", "--json")
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    for key in CONTRACT:
        assert key in out
    assert out["measure"] == "PLO" and out["method"] == "REML" and out["k"] == len(REF["debruin"]["xi"])
    assert set(out["test_between"]) == {"q", "df", "p"}
    ref = REF["sub_debruin_ethnicity"]
    assert out["test_between"]["q"] == pytest.approx(ref["Qb"], abs=1e-4)
    for g, sub in out["subgroups"].items():
        for key in CONTRACT:
            assert key in sub
        assert sub["estimate"] == pytest.approx(ref["groups"][g]["est"], abs=1e-4)
    reg = REF["reg_debruin"]
    assert [c["name"] for c in out["coefficients"]] == ["intrcpt", "scq", "patientsstarting", "selectyes"]
    for c, est in zip(out["coefficients"], reg["coef"], strict=True):
        assert set(c) == {"name", "estimate", "se", "stat", "p", "ci_lower", "ci_upper"}
        assert c["estimate"] == pytest.approx(est, abs=1e-4)
    for key in ("qm", "qm_p", "qe", "qe_p", "r2"):
        assert key in out
    assert out["qm"] == pytest.approx(reg["QM"], rel=5e-4)
    assert out["disclaimer"]


def test_measures_and_methods(tmp_path: Path) -> None:
    """PFT with DL and GLMM on dat.pritz1997 through the CLI match metafor.

    R::

        predict(rma(measure="PFT", xi=xi, ni=ni, data=dat.pritz1997, method="DL"),
                transf=transf.ipft.hm, targs=list(ni=dat.pritz1997$ni))
        predict(rma.glmm(measure="PLO", xi=xi, ni=ni, data=dat.pritz1997), transf=transf.ilogit)
    """
    pr = REF["pritz"]
    csv = _write(tmp_path, "study,events,total\n" + "".join(
        f"P{i},{x},{n}\n" for i, (x, n) in enumerate(zip(pr["xi"], pr["ni"], strict=True))))
    out = json.loads(_run(str(csv), "--measure", "PFT", "--method", "DL", "--json").stdout)
    assert out["estimate"] == pytest.approx(REF["pritz_PFT_DL"]["est"], abs=1e-4)
    out = json.loads(_run(str(csv), "--method", "GLMM", "--json").stdout)
    assert out["estimate"] == pytest.approx(REF["glmm_pritz"]["est"], abs=1e-4)
    assert out["method"] == "GLMM"


def test_generic_and_table(tmp_path: Path) -> None:
    """GEN input (yi, vi) with knha; the rich table shows the pooled line and the disclaimer.

    R::

        dat <- escalc(measure="RR", ai=tpos, bi=tneg, ci=cpos, di=cneg, data=dat.bcg)
        rma(yi, vi, data=dat, method="REML", test="knha")
    """
    bcg = REF["bcg"]
    csv = _write(tmp_path, "study,yi,vi\n" + "".join(
        f"T{i},{y!r},{v!r}\n" for i, (y, v) in enumerate(zip(bcg["yi"], bcg["vi"], strict=True))))
    out = json.loads(_run(str(csv), "--measure", "GEN", "--knha", "--json").stdout)
    ref = REF["bcg_REML_knha"]
    assert out["estimate"] == pytest.approx(ref["mu"], abs=1e-4)
    assert out["ci_lower"] == pytest.approx(ref["ci_lb"], abs=1e-4)
    assert out["pi_upper"] == pytest.approx(ref["mu_pi_ub"], abs=1e-4)
    assert out["pi_convention"] == "t(df=12)"
    proc = _run(str(csv), "--measure", "GEN")
    assert proc.returncode == 0
    assert "Pooled" in proc.stdout and "Decision support" in proc.stdout


@pytest.mark.parametrize(
    ("content", "args", "needle"),
    [
        ("", [], "empty"),
        ("study,events,total\n", [], "no studies"),
        ("study,events\nA,3\n", [], "missing column 'total'"),
        ("study,events,total\nA,3,10\nB,12,10\n", [], "row 2: events (12) exceed total (10)"),
        ("study,events,total\nA,3,10\nB,-1,10\n", [], "row 2: negative"),
        ("study,events,total\nA,3,10\nB,abc,10\n", [], "row 2: not a number"),
        ("study,events,total\nA,3,10\nB,2.5,10\n", [], "row 2: not a whole number"),
        ("study,events,total\nA,3,10\nB,,10\n", [], "row 2: empty value"),
        ("study,events,total\nA,3,10\n", [], "k = 1"),
        ("study,events,total\nA,3,10\n", ["--method", "GLMM"], "k = 1"),
        ("study,yi,vi\nA,0.1,0.01\nB,0.2,-0.01\n", ["--measure", "GEN"], "row 2: sampling variance"),
        ("study,events,total,g\nA,3,10,x\nB,4,10,y\n", ["--by", "nope"], "missing column 'nope'"),
        ("study,events,total\nA,3,10\nB,4,12\n", ["--measure", "XX"], "unknown measure"),
        ("study,events,total\nA,3,10\nB,4,12\n", ["--method", "XX"], "unknown method"),
        ("study,events,total\nA,3,10\nB,4,12\n", ["--level", "120"], "level"),
        ("study,events,total,m\nA,3,10,1\nB,4,12,2\nC,5,11,3\n", ["--mods", "m", "--method", "GLMM"], "GLMM"),
    ],
)
def test_bad_input_exits_2_with_one_line(tmp_path: Path, content: str, args: list[str], needle: str) -> None:
    """Every bad input: exit status 2, one line on stderr naming the row/column, no traceback."""
    proc = _run(str(_write(tmp_path, content)), *args)
    assert proc.returncode == 2, (proc.stdout, proc.stderr)
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert needle in lines[0]
    assert "Traceback" not in proc.stderr


def test_missing_file(tmp_path: Path) -> None:
    """A path that does not exist is a one-line error with exit status 2."""
    proc = _subprocess(str(tmp_path / "nope.csv"))
    assert proc.returncode == 2 and "file not found" in proc.stderr


def test_forest_option_writes_svg_and_png(debruin_csv: Path, tmp_path: Path) -> None:
    """--forest draws through redif.evidence.plots.forest_plot (pooled and subgroup results)."""
    svg = tmp_path / "forest.svg"
    proc = _run(str(debruin_csv), "--forest", str(svg), "--json")
    assert proc.returncode == 0, proc.stderr
    assert svg.read_text().lstrip().startswith(("<?xml", "<svg"))
    assert json.loads(proc.stdout)["forest"] == str(svg)
    png = tmp_path / "forest.png"
    proc = _run(str(debruin_csv), "--by", "ethnicity", "--forest", str(png))
    assert proc.returncode == 0, proc.stderr
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_forest_bad_suffix(debruin_csv: Path, tmp_path: Path) -> None:
    """An unsupported plot format is a one-line error with exit status 2."""
    proc = _run(str(debruin_csv), "--forest", str(tmp_path / "f.pdf"))
    assert proc.returncode == 2 and len(proc.stderr.strip().splitlines()) == 1


@pytest.fixture()
def bcg_csv(tmp_path: Path) -> Path:
    bcg = REF["bcg"]
    rows = [f"T{i + 1},{y!r},{v!r}\n" for i, (y, v) in enumerate(zip(bcg["yi"], bcg["vi"], strict=True))]
    return _write(tmp_path, "study,yi,vi\n" + "".join(rows), "bcg.csv")


def test_bias_command(bcg_csv: Path) -> None:
    """`redif meta bias`: Egger, Begg and trim-and-fill equal metafor on dat.bcg.

    R::

        res <- rma(yi, vi, data=dat, method="REML"); regtest(res); ranktest(res); trimfill(res)
    """
    proc = _main("meta", "bias", str(bcg_csv), "--measure", "GEN", "--json")
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["egger"]["stat"] == pytest.approx(REF["regtest_bcg"]["zval"], abs=1e-4)
    assert out["begg"]["p"] == pytest.approx(REF["ranktest_bcg"]["pval"], abs=1e-4)
    assert out["trimfill"]["k0"] == REF["tf_bcg"]["k0"]
    assert out["trimfill"]["estimate"] == pytest.approx(REF["tf_bcg"]["est"], abs=1e-4)


def test_influence_command(bcg_csv: Path) -> None:
    """`redif meta influence`: leave-one-out estimates and Cook's distances equal metafor on dat.bcg.

    R::

        res <- rma(yi, vi, data=dat, method="REML"); leave1out(res); influence(res)
    """
    proc = _main("meta", "influence", str(bcg_csv), "--measure", "GEN", "--json")
    assert proc.returncode == 0, proc.stderr
    rows = json.loads(proc.stdout)["studies"]
    assert [r["loo"]["estimate"] for r in rows] == pytest.approx(REF["l1o_bcg"]["estimate"], abs=1e-4)
    assert [r["cook_d"] for r in rows] == pytest.approx(REF["inf_bcg"]["cook"], abs=1e-4)
    assert [r["influential"] for r in rows] == REF["inf_bcg"]["inf"]


def test_diagnostics_tables_and_bad_method(bcg_csv: Path, debruin_csv: Path) -> None:
    """The rich output of bias/influence renders; GLMM is refused for escalc-based diagnostics."""
    assert "Trim-and-fill" in _main("meta", "bias", str(debruin_csv)).stdout
    assert "Leave-one-out" in _main("meta", "influence", str(bcg_csv), "--measure", "GEN").stdout
    bad = _main("meta", "bias", str(debruin_csv), "--method", "GLMM")
    assert bad.returncode == 2 and len(bad.stderr.strip().splitlines()) == 1


def test_study_ci_option(debruin_csv: Path) -> None:
    """--study-ci wilson switches the per-study interval (R prop.test(correct=FALSE) for 11/29)."""
    out = json.loads(_run(str(debruin_csv), "--study-ci", "wilson", "--json").stdout)
    lo = out["studies"][0]["ci_lower"]
    cp = json.loads(_run(str(debruin_csv), "--json").stdout)["studies"][0]["ci_lower"]
    assert lo != pytest.approx(cp)
    # Wilson lower bound for 11/29 (closed form)
    z, n, p = 1.959963984540054, 29, 11 / 29
    want = (p + z * z / (2 * n) - z * (p * (1 - p) / n + z * z / (4 * n * n)) ** 0.5) / (1 + z * z / n)
    assert lo == pytest.approx(want, abs=1e-10)
    bad = _run(str(debruin_csv), "--study-ci", "exact")
    assert bad.returncode == 2 and "--study-ci" in bad.stderr  # issue 10: the CLI names its flag
