"""Browser test: Debian chromium driven by Playwright against ``redif serve`` in a subprocess.

Sign in, create a patient, upload a zipped synthetic PET study (3 time points + SEG, written by the
dosimetry engine's phantom) on the patient page, see the per-lesion dose table, dose map and DVH, then
download the PDF report. Also: the public evidence explorer and a calculator work with htmx and show an
input error next to its field.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from live_server import serve, stop  # type: ignore[import-not-found]

sys.path.insert(0, str(Path(__file__).parent))
from _phantom_zip import write_small_phantom

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"]
pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not os.path.exists(CHROMIUM), reason=f"Debian chromium not found at {CHROMIUM}"),
]


def start_server(d: Path) -> tuple[subprocess.Popen[str], str]:
    """Create a registry with the test world in ``d`` and serve it; return the process and base URL."""
    from registry_world import make_world  # type: ignore[import-not-found]

    from redif.registry.db import migrate, open_database

    db = open_database(f"sqlite:///{d / 'redif.sqlite'}")
    migrate(db)
    make_world(db)
    db.dispose()
    return serve(d)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    proc, base = start_server(tmp_path_factory.mktemp("serve"))
    yield base
    stop(proc)


@pytest.fixture(scope="module")
def study_zip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("phantom")
    blob, _ = write_small_phantom(d / "study")
    path = d / "phantom_study.zip"
    path.write_bytes(blob)
    return path


def test_upload_phantom_see_dose_download_pdf(server: str, study_zip: Path, tmp_path: Path) -> None:
    from playwright.sync_api import expect, sync_playwright
    from registry_world import PASSWORD  # type: ignore[import-not-found]

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            page = browser.new_context(accept_downloads=True).new_page()
            errors: list[str] = []
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.goto(server + "/login")
            page.get_by_label("Username").fill("clin_a")
            page.get_by_label("Password").fill(PASSWORD)
            page.get_by_role("button", name="Sign in").click()
            expect(page).to_have_url(server + "/patients")
            page.get_by_role("link", name="New patient").click()
            page.get_by_label("Pseudonym").fill("DOSE-001")
            page.get_by_label("Histology").select_option("papillary")  # coded (issue 10)
            page.get_by_role("button", name="Create patient").click()
            expect(page.get_by_role("heading", level=1)).to_have_text("Patient DOSE-001")
            # the dosimetry section is loaded by htmx
            expect(page.locator("#no-dose")).to_be_visible()
            page.get_by_label("PET study").set_input_files(str(study_zip))
            page.get_by_label("131I activity for the predicted dose (GBq)").fill("5.5")
            page.get_by_role("button", name="Upload and compute dosimetry").click()
            expect(page.locator("p.ok")).to_contain_text("Voxel dosimetry computed", timeout=60_000)
            table = page.locator("table.dose-table")
            expect(table).to_be_visible()
            expect(table.locator("tbody tr")).to_have_count(4)
            expect(table).to_contain_text("neck_node_left")
            expect(page.locator("#dose-map")).to_be_visible()
            expect(page.locator("#dvh")).to_be_visible()
            mean = float(table.locator("tbody tr").first.locator("td.dose-mean").inner_text())
            assert 1.0 < mean < 1000.0
            # the de-identified series are listed in the imaging section
            expect(page.locator("#dicom table")).to_contain_text("SEG")
            with page.expect_download() as dl:
                page.get_by_role("button", name="Download PDF report").click()
            path = tmp_path / "report.pdf"
            dl.value.save_as(path)
            assert path.read_bytes().startswith(b"%PDF")
            assert errors == []
        finally:
            browser.close()


def test_public_pages_with_htmx(server: str) -> None:
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            page = browser.new_page()
            errors: list[str] = []
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.goto(server + "/evidence")
            expect(page.locator("#pooled caption")).to_contain_text("Pooled uptake")
            page.get_by_label("Outcome").select_option("response")  # htmx swaps the results on change
            expect(page.locator("#pooled caption")).to_contain_text("Pooled response")
            # the filters are in the address (shareable); issue 12 added the test, the response
            # denominator and the mixed-definitions switch to the form
            expect(page).to_have_url(server + "/evidence?outcome=response&genotype=&definition=&min_grade="
                                     "secondary&by=&measure=PLO&method=REML&test=&denominator=itt"
                                     "&mix_definitions=")
            page.goto(server + "/calc/lesion")
            page.get_by_label("Lesion mass (g)").fill("2")
            page.get_by_label("Lesion TIA coefficient of 131I (h)").fill("-20")
            page.get_by_role("button", name="Calculate").click()
            expect(page.locator("#calc-error")).to_contain_text("tia_h")
            page.get_by_label("Lesion TIA coefficient of 131I (h)").fill("20")
            page.get_by_role("button", name="Calculate").click()
            expect(page.locator("#res-gy-per-gbq")).to_contain_text("Gy/GBq")
            assert errors == []
        finally:
            browser.close()
