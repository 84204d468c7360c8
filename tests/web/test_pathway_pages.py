"""Patient pathway assessment on the web: built from registry records, or from a stored case document
(validated by the pathway engine); the page shows the same report blocks as ``redif patient assess``
(checked against the engine called directly on the example file), the protocol calendar downloads as
.ics, the API answers the same JSON, bad documents are refused naming the problem, and another site's
patient answers 404."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "case_braf_v600e.yaml"


def test_registry_based_assessment(env: Any) -> None:
    c, _ = env.login("clin_a")
    r = c.get(f"/patients/{env.patient_a}/assessment", headers={"HX-Request": "true"})
    assert r.status_code == 200 and "<html" not in r.text
    assert "registry records" in r.text and "BRAF" in r.text
    api = env.client().get(f"/api/v1/patients/{env.patient_a}/assessment", headers=env.bearer("clin_a"))
    assert api.status_code == 200
    assert api.json()["basis"].startswith("registry records")
    assert "refractory" in api.json() and api.json()["disclaimer"]


def test_case_document_stored_and_assessed(env: Any) -> None:
    from redif.pathway import assess_case, load_case

    c, csrf = env.login("clin_a")
    pid = env.patient_a
    r = c.post(f"/patients/{pid}/case", data={"csrf_token": csrf, "case": EXAMPLE.read_text()},
               follow_redirects=False)
    assert r.status_code == 303
    page = c.get(f"/patients/{pid}/assessment").text
    ref = assess_case(load_case(EXAMPLE)).to_dict()
    assert f"Go / no-go: {ref['decision']['status']}" in page
    assert "RAI-refractoriness: refractory" in page and "PMID 40844370" in page
    assert "protocol.ics" in page and "Decision support" in page and 'id="decision-status"' in page
    ics = c.get(f"/patients/{pid}/protocol.ics")
    assert ics.status_code == 200 and ics.text.startswith("BEGIN:VCALENDAR")
    assert ics.headers["content-type"].startswith("text/calendar")
    api = env.client().get(f"/api/v1/patients/{pid}/assessment", headers=env.bearer("clin_a")).json()
    assert api["basis"] == "stored case document"
    assert api["decision"]["status"] == ref["decision"]["status"]
    # PUT through the API (JSON body) stores the same document under the registry pseudonym
    doc = json.loads(json.dumps(yaml.safe_load(EXAMPLE.read_text()), default=str))
    put = env.client().put(f"/api/v1/patients/{pid}/case", json=doc, headers=env.bearer("clin_a"))
    assert put.status_code == 200 and put.json()["case_id"] == "A-1"


def test_bad_case_document(env: Any) -> None:
    c, csrf = env.login("clin_a")
    r = c.post(f"/patients/{env.patient_a}/case", data={"csrf_token": csrf, "case": "histology: banana"})
    assert r.status_code == 422 and 'id="case-error"' in r.text and "histology" in r.text
    r = c.post(f"/patients/{env.patient_a}/case", data={"csrf_token": csrf, "case": "[unclosed"})
    assert r.status_code == 422 and "YAML" in r.text
    api = env.client().put(f"/api/v1/patients/{env.patient_a}/case", json={"histology": "banana"},
                           headers=env.bearer("clin_a"))
    assert api.status_code == 422 and "histology" in api.text


def test_other_site_is_404(env: Any) -> None:
    c, csrf = env.login("clin_a")
    pb = env.patient_b
    assert c.get(f"/patients/{pb}/assessment").status_code == 404
    assert c.get(f"/patients/{pb}/protocol.ics").status_code == 404
    r = c.post(f"/patients/{pb}/case", data={"csrf_token": csrf, "case": EXAMPLE.read_text()})
    assert r.status_code == 404
    h = env.bearer("clin_a")
    assert env.client().get(f"/api/v1/patients/{pb}/assessment", headers=h).status_code == 404
    assert env.client().put(f"/api/v1/patients/{pb}/case", json={}, headers=h).status_code == 404


def test_patient_page_loads_sections_with_htmx(env: Any) -> None:
    c, _ = env.login("clin_a")
    page = c.get(f"/patients/{env.patient_a}").text
    for part in ("assessment", "dosimetry", "response"):
        assert f'hx-get="/patients/{env.patient_a}/{part}"' in page
