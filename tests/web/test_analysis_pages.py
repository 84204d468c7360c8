"""Issue 13 (item 4): the registry analysis page ``/analysis`` and ``/api/v1/analysis/{pool,survival}``.

Nine hand-built patients at sites A and B are stored through the registry's functions (first drug start
2024-01-01, 131I on 2024-02-01, response assessments, next therapies, a death). Expected values: the
engines the CLI runs (``redif ipd pool|survival``: :func:`redif.ipd.pool_ipd`, :func:`redif.ipd.survival`)
on the rows of the analysis export of the same registry (``export_analysis`` text parsed by
:func:`redif.ipd.parse_analysis_csv`, i.e. the file ``redif registry export --format analysis`` writes);
those engines' own parity with R is tested in tests/ipd/. Access: the roles and scopes of
``redif.registry.access`` (``export`` permission; site roles see their own site only).
"""

from __future__ import annotations

import html
import math
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from web_world import Env, build_env  # type: ignore[import-not-found]

from redif.ipd import parse_analysis_csv, pool_ipd, survival
from redif.ipd.registry_view import analysis_view
from redif.registry import patients as reg
from redif.registry.access import Principal, Role
from redif.registry.analysis_export import export_analysis
from redif.registry.models import AuditEvent, User

START = "2024-01-01"
I131 = "2024-02-01"
UP124 = "increased_124i_uptake"

# pseudonym -> (site, gene, variant, uptake (restored, definition) or None, 131I given, responses,
# next therapy start, death date, last follow-up)
PATIENTS: dict[str, tuple[Any, ...]] = {
    "A-10": ("A", "BRAF", "V600E", (True, UP124), True, [("2024-04-01", "PR"), ("2024-07-01", "PD")], None,
             None, "2024-12-01"),
    "A-11": ("A", "BRAF", "V600E", (True, UP124), True, [("2024-04-01", "SD"), ("2024-08-01", "SD")], None,
             None, "2024-10-01"),
    "A-12": ("A", "NRAS", "Q61R", (False, UP124), False, [], "2024-05-01", None, "2024-06-01"),
    "A-13": ("A", "BRAF", "V600E", (True, UP124), True, [("2024-04-01", "PR"), ("2024-09-01", "SD")], None,
             None, "2024-11-01"),
    "A-14": ("A", "NRAS", "Q61K", (True, "diagnostic_scan"), True, [("2024-05-01", "PD")], "2024-06-01",
             None, "2024-08-01"),
    "B-10": ("B", "BRAF", "V600E", (True, UP124), True, [("2024-04-01", "PR"), ("2024-10-01", "PD")],
             "2024-11-01", None, "2025-01-01"),
    "B-11": ("B", "NRAS", "Q61R", (False, UP124), False, [], None, "2024-09-01", None),
    "B-12": ("B", "NRAS", "Q61R", (True, UP124), True, [("2024-04-01", "SD"), ("2024-06-01", "PD")],
             "2024-07-15", None, "2024-09-01"),
    "B-13": ("B", "BRAF", "V600E", (False, UP124), True, [("2024-04-01", "SD")], None, None, "2024-12-15"),
}


def _store(e: Env) -> None:
    db = e.app.state.db
    admin = Principal(0, "setup", Role.ADMIN, None)
    with db.write_session(actor="setup") as s:
        for name, (site, gene, variant, uptake, given, responses, nxt, death, fu) in PATIENTS.items():
            data: dict[str, Any] = {"pseudonym": name, "site": site, "histology": "papillary"}
            if death:
                data["death_date"] = death
            if fu:
                data["last_follow_up_date"] = fu
            pid = reg.create_patient(s, admin, data).id
            s.flush()
            recs: list[tuple[str, dict[str, Any]]] = [
                ("courses", {"course_number": 1, "drugs": "dabrafenib + trametinib", "start_date": START}),
                ("genotypes", {"gene": gene, "variant": variant}),
                ("uptake", {"assessment_date": "2024-01-29", "restored": uptake[0],
                            "restored_definition": uptake[1]}),
            ]
            if given:
                recs.append(("administrations", {"administration_date": I131, "activity_gbq": 5.5}))
            recs += [("responses", {"assessment_date": d, "overall_response": c}) for d, c in responses]
            if nxt:
                recs.append(("next-therapy", {"drugs": "lenvatinib", "start_date": nxt}))
            for kind, rec in recs:
                reg.add_record(s, admin, pid, kind, rec)


@pytest.fixture(scope="module")
def world(env_any: Env) -> Env:
    """The web world (two sites, every role) plus the nine patients above."""
    _store(env_any)
    return env_any


@pytest.fixture(scope="module")
def empty(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Env]:
    """A registry whose patients have no redifferentiation course (an empty analysis dataset)."""
    d: Path = tmp_path_factory.mktemp("web-empty")
    e = build_env(f"sqlite:///{d / 'r.sqlite'}", d)
    yield e
    e.app.state.db.dispose()


def _exported(e: Env, user: str) -> list[Any]:
    """The analysis export of ``user``'s scope, parsed as ``redif ipd`` reads the CSV file."""
    db = e.app.state.db
    with db.session() as s:
        u = s.execute(select(User).where(User.username == user)).scalar_one()
        p = Principal(u.id, u.username, Role(u.role), u.site_id)
    return parse_analysis_csv(export_analysis(db, principal=p, actor=user).text, name="export")


def _get(e: Env, user: str, url: str) -> Any:
    return e.client().get(url, headers=e.bearer(user))


def _close(a: float | None, b: float | None) -> bool:
    if a is None or b is None:
        return a is b
    return math.isclose(a, b, rel_tol=1e-12, abs_tol=1e-12)


def test_page_numbers_equal_the_engines_on_the_exported_rows(world: Env) -> None:
    """Issue 13: Coordinator: the pooled uptake (default definition: increased_124i_uptake, 8 of the 9
    patients assessed) and ITT response shown on the page, and every Kaplan-Meier table (n, events, median),
    equal ``pool_ipd`` two-stage and ``survival`` on the exported rows; the page has both forest plots and the
    four Kaplan-Meier plots with alt text."""
    rows = _exported(world, "coord")
    assert len(rows) == 9
    r = _get(world, "coord", "/analysis")
    assert r.status_code == 200, r.text
    page = r.text
    up = pool_ipd(rows, outcome="uptake_restored", definition=UP124)
    resp = pool_ipd(rows, outcome="objective_response", denominator="itt")
    shown = [float(x) for x in re.findall(r'data-estimate="([^"]+)"', page)]
    assert len(shown) == 2 and _close(shown[0], up.estimate) and _close(shown[1], resp.estimate)
    cis = [tuple(float(v) for v in x.split(",")) for x in re.findall(r'data-ci="([^"]+)"', page)]
    assert _close(cis[0][0], up.ci_lower) and _close(cis[1][1], resp.ci_upper)
    assert (up.n, up.events, resp.n, resp.events) == (8, 5, 9, 3)  # hand count: PR at, B-10
    assert f"{up.events}/{up.n}" in page and f"{resp.events}/{resp.n}" in page
    assert page.count('alt="Forest plot') == 2 and page.count('alt="Kaplan–Meier plot') == 4
    view = analysis_view(rows, plots=False)
    for panel in view.survival:
        assert panel.result is not None
        if panel.by == "genotype":
            expected = survival(rows, time=panel.time, event=panel.event, by="genotype")
        else:  # restored uptake under the chosen definition, like with like
            sub = [x for x in rows if x.uptake_definition == UP124]
            expected = survival(sub, time=panel.time, event=panel.event, by="uptake_restored")
        table = page.split(f'id="km-{panel.key}"')[1].split("</table>")[0]
        for g, want in zip(panel.result.groups, expected.groups, strict=True):
            assert (g.n, g.events) == (want.n, want.events)
            assert _close(g.median, want.median)
            median = "NR" if want.median is None else f"{want.median:.0f}"
            assert f"<td>{want.n}</td><td>{want.events}</td><td>{median}</td>" in table
        assert panel.result.logrank is not None and expected.logrank is not None
        assert _close(panel.result.logrank.chisq, expected.logrank.chisq)


def test_api_returns_the_cli_json_keys_and_numbers(world: Env) -> None:
    """Issue 13: ``/api/v1/analysis/pool`` and ``/survival`` give ``pool_ipd(...).to_json()`` and
    ``survival(...).to_json()`` of the exported rows (the ``redif ipd ... --json`` keys), one-stage and a
    stratified Cox model included, plus the disclaimer."""
    rows = _exported(world, "admin")
    r = _get(world, "admin", "/api/v1/analysis/pool?outcome=uptake_restored&definition=" + UP124)
    assert r.status_code == 200, r.text
    got = r.json()
    want = pool_ipd(rows, outcome="uptake_restored", definition=UP124).to_json()
    assert set(got) == set(want) | {"disclaimer"}
    for k in ("k_sites", "n", "events", "sites", "definition", "method"):
        assert got[k] == want[k], k
    for k in ("mu", "se", "estimate", "ci_lower", "ci_upper", "tau2"):
        assert _close(got[k], want[k]), k
    r = _get(world, "admin", "/api/v1/analysis/pool?outcome=objective_response&method=one-stage"
                             "&denominator=treated")
    want = pool_ipd(rows, outcome="objective_response", method="one-stage", denominator="treated").to_json()
    assert r.status_code == 200 and _close(r.json()["estimate"], want["estimate"]) and r.json()["n"] == 7
    r = _get(world, "admin", "/api/v1/analysis/survival?time=pfs_days&event=pfs_event&by=genotype"
                             "&covariates=uptake_restored&strata=site")
    assert r.status_code == 200, r.text
    got = r.json()
    want = survival(rows, time="pfs_days", event="pfs_event", by="genotype", covariates=["uptake_restored"],
                    strata="site").to_json()
    assert set(got) == set(want) | {"disclaimer"}
    assert [(g["group"], g["n"], g["events"]) for g in got["groups"]] == [
        (g["group"], g["n"], g["events"]) for g in want["groups"]]
    assert _close(got["logrank"]["chisq"], want["logrank"]["chisq"])
    assert _close(got["cox"]["coefficients"][0]["coef"], want["cox"]["coefficients"][0]["coef"])
    # within each site the NRAS patients progress first: monotone likelihood, the coefficient diverges
    r = _get(world, "admin", "/api/v1/analysis/survival?time=pfs_days&event=pfs_event&covariates=genotype"
                             "&strata=site")
    assert r.status_code == 422 and r.json()["field"] == "covariates"


def test_site_user_sees_only_their_site(world: Env) -> None:
    """Issue 13: clin_a: the page lists site A only (nothing to pool across sites: A's own proportion, 3 of
    the 4 A patients assessed under increased_124i_uptake restored), no B patient in the numbers; the API's
    survival counts the 5 A patients; pooling one site is refused with the reason (422)."""
    r = _get(world, "clin_a", "/analysis")
    assert r.status_code == 200, r.text
    page = html.unescape(r.text)
    assert "5 patient(s) who started the drug at 1 site(s): A." in page
    assert "nothing to pool across sites" in page and 'data-estimate="' not in page
    assert '<th scope="row">B</th>' not in page and "3/4" in page
    r = _get(world, "clin_a", "/api/v1/analysis/survival?time=ttnt_days&event=ttnt_event")
    assert r.status_code == 200 and r.json()["n"] == 5
    r = _get(world, "clin_b", "/api/v1/analysis/survival?time=ttnt_days&event=ttnt_event")
    assert r.status_code == 200 and r.json()["n"] == 4
    r = _get(world, "clin_a", "/api/v1/analysis/pool?outcome=uptake_restored&definition=" + UP124)
    assert r.status_code == 422 and r.json()["field"] == "method"


def test_role_without_the_export_permission_gets_403(world: Env) -> None:
    """Issue 13: The auditor (patient:read, no export) is refused the page and the API (403) and has no nav
    link; the coordinator has the link."""
    assert _get(world, "auditor", "/analysis").status_code == 403
    assert _get(world, "auditor", "/api/v1/analysis/pool?outcome=uptake_restored").status_code == 403
    r = _get(world, "auditor", "/api/v1/analysis/survival?time=pfs_days&event=pfs_event")
    assert r.status_code == 403
    assert 'href="/analysis"' not in _get(world, "auditor", "/patients").text
    assert 'href="/analysis"' in _get(world, "coord", "/patients").text


def test_bad_parameters_give_422_naming_the_field(world: Env) -> None:
    """Issue 13: A bad query parameter is a 422 naming it (page: in the message; API: ``field``)."""
    r = _get(world, "coord", "/analysis?denominator=everyone")
    assert r.status_code == 422 and "denominator: unknown response denominator" in html.unescape(r.text)
    r = _get(world, "coord", "/analysis?definition=made_up")
    assert r.status_code == 422 and "definition:" in r.text and "increased_124i_uptake" in r.text
    for url, field in (("/api/v1/analysis/pool?outcome=survival", "outcome"),
                       ("/api/v1/analysis/pool?outcome=objective_response&denominator=all", "denominator"),
                       ("/api/v1/analysis/pool?outcome=uptake_restored&definition=made_up", "definition"),
                       ("/api/v1/analysis/survival?time=nope&event=pfs_event", "time"),
                       ("/api/v1/analysis/survival?time=pfs_days&event=pfs_event&covariates=a,",
                        "covariates")):
        r = _get(world, "coord", url)
        assert r.status_code == 422, url
        assert r.json()["field"] == field, (url, r.json())
    # fits these data cannot support: a 422 naming the parameter, never a 500 (no NRAS responder: the
    # one-stage genotype coefficient is not estimable; DOR by site within site strata: no comparison)
    r = _get(world, "coord", "/api/v1/analysis/pool?outcome=objective_response&method=one-stage&by=genotype")
    assert r.status_code == 422 and r.json()["field"] == "by"
    r = _get(world, "coord", "/api/v1/analysis/survival?time=dor_days&event=dor_event&by=site&strata=site")
    assert r.status_code == 422 and r.json()["field"] == "strata"
    r = _get(world, "coord", "/api/v1/analysis/pool?outcome=uptake_restored&level=120")
    assert r.status_code == 422 and "level" in r.json()["field"]


def test_a_page_view_is_one_read_event_and_no_export_event(world: Env) -> None:
    """Issue 13: Reading the analysis is audited as a registry list read: one ``read`` event naming the
    patients, no ``export`` event (the data do not leave the registry)."""
    db = world.app.state.db

    def count(action: str) -> int:
        db.flush_audit()
        with db.session() as s:
            return int(s.execute(select(func.count(AuditEvent.id)).where(
                AuditEvent.action == action, AuditEvent.actor == "coord")).scalar_one())

    reads, exports = count("read"), count("export")
    assert _get(world, "coord", "/analysis?denominator=treated").status_code == 200
    assert (count("read"), count("export")) == (reads + 1, exports)


def test_empty_registry_shows_a_clear_message(empty: Env) -> None:
    """Issue 13: No patient has started a course: the page says so (200, no 500), and the API answers 422 with
    the reason."""
    r = _get(empty, "coord", "/analysis")
    assert r.status_code == 200 and 'id="analysis-empty"' in r.text
    r = _get(empty, "coord", "/api/v1/analysis/pool?outcome=uptake_restored")
    assert r.status_code == 422 and r.json()["field"] == "outcome"
    r = _get(empty, "coord", "/api/v1/analysis/survival?time=pfs_days&event=pfs_event")
    assert r.status_code == 422 and r.json()["field"] == "time"
