"""Response charts on the patient page: sum of diameters and thyroglobulin (log axis) from the registry's
response assessments and laboratory values; empty state; 404 across sites."""

from __future__ import annotations

from typing import Any


def test_charts_from_records(env: Any) -> None:
    c, _ = env.login("clin_a")
    pid = env.patient_a
    empty = c.get(f"/patients/{pid}/response")
    assert empty.status_code == 200 and 'id="no-response"' in empty.text
    h = env.bearer("clin_a")
    api = env.client()
    for d, v in (("2024-01-10", 46.0), ("2024-07-10", 32.0), ("2025-01-10", 29.0)):
        r = api.post(f"/api/v1/patients/{pid}/records/responses", headers=h,
                     json={"assessment_date": d, "sum_of_diameters_mm": v})
        assert r.status_code in (200, 201), r.text
    for d, v in (("2024-01-05", 23.0), ("2024-07-05", 4.1)):
        r = api.post(f"/api/v1/patients/{pid}/records/labs", headers=h,
                     json={"sample_date": d, "analyte": "Tg", "value": v, "unit": "ng/mL"})
        assert r.status_code in (200, 201), r.text
    page = c.get(f"/patients/{pid}/response", headers={"HX-Request": "true"}).text
    assert 'id="chart-sod"' in page and 'id="chart-tg"' in page and "log scale" in page
    # the alt text carries the data points (charts readable without sight)
    assert "2024-07-10 32 mm" in page and "2024-07-05 4.1 ng/mL" in page


def test_other_site_is_404(env: Any) -> None:
    c, _ = env.login("clin_a")
    assert c.get(f"/patients/{env.patient_b}/response").status_code == 404
