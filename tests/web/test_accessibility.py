"""Issue 16 (item 5): an axe-core scan of every HTML page of the web app finds no violation.

Debian chromium driven by Playwright (as tests/web/test_browser.py) against ``redif serve`` on a registry
with one patient holding a genotype, a 131I administration, response assessments and Tg values, so the
patient pages render their tables and charts. Every GET page of ``src/redif/web/routes`` that returns
HTML is scanned (the list is below; JSON, ICS and PDF endpoints are not pages), including the result
fragments of the calculators, the designer and the evidence page after a form is submitted.

Expected value: axe-core's rules (WCAG 2.x A/AA and best practice, as shipped by axe-playwright-python)
report no violation of impact ``serious`` or ``critical`` on any page, and none of any impact on the
pages listed (the moderate ``heading-order`` finding on the assessment page included). A failure lists
each violation's id, impact and target selectors, page by page.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from live_server import serve, stop  # type: ignore[import-not-found]
from test_browser import CHROMIUM, pytestmark  # noqa: F401  (the browser marks and skip)

PATIENT = "A11Y-001"


@pytest.fixture(scope="module")
def a11y_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, int]]:
    """``redif serve`` on a registry with one patient with records; yields (base URL, patient id)."""
    from registry_world import make_world  # type: ignore[import-not-found]

    from redif.registry import patients as reg
    from redif.registry.db import migrate, open_database

    d = tmp_path_factory.mktemp("a11y")
    db = open_database(f"sqlite:///{d / 'redif.sqlite'}")
    migrate(db)
    w = make_world(db)
    p = w.principals["clin_a"]
    with db.write_session(actor="setup") as s:
        pid = reg.create_patient(s, p, {"pseudonym": PATIENT, "histology": "papillary", "sex": "female"}).id
        reg.add_record(s, p, pid, "genotypes", {"gene": "BRAF", "variant": "V600E"})
        for day, sod in (("2024-01-10", 46.0), ("2024-07-10", 32.0), ("2025-01-10", 29.0)):
            reg.add_record(s, p, pid, "responses", {"assessment_date": day, "sum_of_diameters_mm": sod})
        for day, tg in (("2024-01-05", 23.0), ("2024-07-05", 4.1)):
            lab = {"sample_date": day, "analyte": "Tg", "value": tg, "unit": "ng/mL"}
            reg.add_record(s, p, pid, "labs", lab)
        # issue 16: a course and a 131I, so that the timeline and the cohort figures are drawn
        reg.add_record(s, p, pid, "courses", {"course_number": 1, "drugs": "dabrafenib + trametinib",
                                              "start_date": "2024-01-12", "stop_date": "2024-02-20",
                                              "tsh_stimulation": "rhtsh", "days_before_uptake": 28})
        reg.add_record(s, p, pid, "administrations",
                       {"administration_date": "2024-02-14", "activity_gbq": 5.5})
    db.dispose()
    proc, base = serve(d)
    yield base, int(pid)
    stop(proc)


def _pages(pid: int) -> list[tuple[str, int]]:
    """(path, expected HTTP status): every HTML GET page, with results and an error state."""
    return [
        ("/patients", 200),
        ("/patients?q=A11Y", 200),
        ("/patients/new", 200),
        (f"/patients/{pid}", 200),
        (f"/patients/{pid}/assessment", 200),
        (f"/patients/{pid}/dosimetry", 200),
        (f"/patients/{pid}/response", 200),
        ("/cohort", 200),  # issue 16: swimmer and waterfall plots
        ("/cohort?colour_by=uptake_restored&genotype=BRAF%20V600E", 200),
        ("/calc", 200),
        ("/calc/tia", 200),
        ("/calc/tia?times_h=4,24,48,96&values=0.02,0.015,0.01,0.005", 200),
        ("/calc/lesion", 200),
        ("/calc/lesion?mass_g=2&tia_h=50&target_gy=20", 200),
        ("/calc/lesion?mass_g=-1&tia_h=50", 422),  # the form with an error message
        ("/calc/blood", 200),
        ("/calc/blood?weight_kg=70&wb_tia_h=30&blood_tia_h_per_ml=0.2", 200),
        ("/calc/simon", 200),
        ("/design", 200),
        ("/design?p0=0.05&p1=0.25&alpha=0.05&beta=0.2", 200),
        ("/design/map", 200),
        ("/design/sequential", 200),
        ("/design/sequential?k=3&type_of_design=asOF&beta_spending=bsOF&endpoint=survival&hr=0.6"
         "&median_control_months=12&accrual_months=24&followup_months=12", 200),
        ("/design/sequential?k=3&sided=2&alpha=0.05&type_of_design=P&endpoint=rates&p1=0.5&p2=0.3", 200),
        ("/design/sequential?k=3&type_of_design=WT", 422),  # the form with an error message
        ("/evidence", 200),
        ("/evidence?outcome=uptake", 200),
        ("/analysis", 200),
        (f"/patients/{pid + 100000}", 404),  # the error page
    ]


def _violations(axe: Any, page: Any) -> list[str]:
    result = axe.run(page)
    out = []
    for v in result.response["violations"]:
        targets = [" ".join(map(str, n.get("target", []))) for n in v.get("nodes", [])]
        out.append(f"{v['id']} ({v.get('impact')}): {'; '.join(targets[:5])}")
    return out


def test_every_page_has_no_axe_violation(a11y_server: tuple[str, int]) -> None:
    from axe_playwright_python.sync_playwright import Axe
    from playwright.sync_api import expect, sync_playwright
    from registry_world import PASSWORD  # type: ignore[import-not-found]

    base, pid = a11y_server
    axe = Axe()
    found: dict[str, list[str]] = {}
    scanned: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            args=["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                  "--disable-background-networking"],
        )
        try:
            page = browser.new_context().new_page()
            page.goto(base + "/login")
            scanned.append("/login")
            found["/login"] = _violations(axe, page)
            page.get_by_label("Username").fill("clin_a")
            page.get_by_label("Password").fill(PASSWORD)
            page.get_by_role("button", name="Sign in").click()
            expect(page).to_have_url(base + "/patients")
            for path, status in _pages(pid):
                resp = page.goto(base + path)
                assert resp is not None and resp.status == status, f"GET {path}: {resp and resp.status}"
                page.wait_for_load_state("networkidle")
                scanned.append(path)
                found[path] = _violations(axe, page)
        finally:
            browser.close()
    print("scanned:", ", ".join(scanned))
    bad = {k: v for k, v in found.items() if v}
    assert not bad, "axe-core violations:\n" + "\n".join(
        f"{path}:\n  " + "\n  ".join(v) for path, v in bad.items()
    )
