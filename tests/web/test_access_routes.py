"""Access control over every route of the app.

- Every route declares its permission (a new route without one fails here).
- For every API and HTML route that takes a record id, a site-A user gets 404 (not 403) for a site-B
  record, whatever the method; list, search, count and export never show site-B records.
The routes are enumerated from ``app.routes``, so routes added later are covered automatically.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from redif.registry.access import Permission
from redif.web.app import create_app
from redif.web.security import iter_routes, route_permissions
from redif.web.settings import WebSettings


def _app(tmp_path_factory: pytest.TempPathFactory) -> Any:
    d = tmp_path_factory.mktemp("perm")
    return create_app(WebSettings(database_url=f"sqlite:///{d / 'r.sqlite'}", data_dir=d))


def test_every_route_declares_a_permission(tmp_path_factory: pytest.TempPathFactory) -> None:
    app = _app(tmp_path_factory)
    missing = [f"{m} {p}" for m, p, perm in route_permissions(app) if perm is None]
    assert missing == [], f"routes without @requires(...): {missing}"
    assert len(route_permissions(app)) > 15


def test_undeclared_route_is_refused(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Deny by default: a route added without a permission answers 403 even to an admin."""
    from fastapi.testclient import TestClient

    app = _app(tmp_path_factory)

    @app.get("/api/v1/forgotten")
    def forgotten() -> dict[str, str]:
        return {"secret": "x"}

    r = TestClient(app).get("/api/v1/forgotten")
    assert r.status_code == 403 and "secret" not in r.text


def _record_routes(app: Any) -> list[tuple[str, str]]:
    out = []
    for route in iter_routes(app):
        if "{patient_id}" in route.path:
            for method in sorted(route.methods - {"HEAD"}):
                out.append((method, route.path))
    return out


def _ids(env: Any) -> dict[str, Any]:
    return {"patient_id": env.patient_b, "kind": "genotypes", "record_id": env.genotype_b}


def _fill(path: str, env: Any) -> str:
    ids = _ids(env)
    return re.sub(r"\{(\w+)(?::\w+)?\}", lambda m: str(ids.get(m.group(1), "1")), path)


def test_cross_site_record_routes_answer_404(env_any: Any) -> None:
    """Every route with a patient id, every method, through bearer token (API) and session (HTML)."""
    routes = _record_routes(env_any.app)
    assert len(routes) >= 12
    session, csrf = env_any.login("clin_a")
    failures = []
    for method, path in routes:
        url = _fill(path, env_any)
        kwargs: dict[str, Any] = {}
        if path.startswith("/api/"):
            kwargs["headers"] = env_any.bearer("clin_a")
            client = env_any.client()
            if method in ("POST", "PATCH", "PUT"):
                if path.endswith("/dicom"):
                    kwargs["files"] = {"file": ("x.dcm", b"not dicom", "application/dicom")}
                else:
                    kwargs["json"] = {"gene": "BRAF"} if "records" in path else {"histology": "papillary"}
        else:
            client = session
            if method != "GET":
                kwargs["data"] = {"csrf_token": csrf, "gene": "BRAF"}
                if path.endswith("/dicom"):
                    kwargs["files"] = {"file": ("x.dcm", b"not dicom", "application/dicom")}
        r = client.request(method, url, follow_redirects=False, **kwargs)
        if r.status_code != 404:
            failures.append(f"{method} {url} -> {r.status_code}")
        assert "B-1" not in r.text and "NRAS" not in r.text
    assert failures == []


def test_own_site_record_routes_work(env: Any) -> None:
    """The same routes for the user's own patient do not answer 404 (the test above is not vacuous)."""
    c = env.client()
    h = env.bearer("clin_a")
    assert c.get(f"/api/v1/patients/{env.patient_a}", headers=h).status_code == 200
    assert c.post(f"/api/v1/patients/{env.patient_a}/fhir", headers=h).status_code == 200
    session, _ = env.login("clin_a")
    assert session.get(f"/patients/{env.patient_a}").status_code == 200


def test_lists_searches_counts_exports_are_scoped(env_any: Any) -> None:
    c = env_any.client()
    h = env_any.bearer("clin_a")
    lst = c.get("/api/v1/patients", headers=h).json()
    assert [p["pseudonym"] for p in lst["items"]] == ["A-1"] and lst["total"] == 1
    assert c.get("/api/v1/patients", params={"q": "B-1"}, headers=h).json()["total"] == 0
    assert c.get("/api/v1/patients", params={"q": "follicular"}, headers=h).json()["items"] == []
    assert c.get("/api/v1/patients/count", headers=h).json() == {"count": 1}
    assert c.get("/api/v1/patients/count", params={"q": "B"}, headers=h).json() == {"count": 0}
    csv = c.post("/api/v1/export/patients.csv", headers=h).text
    assert len(csv.strip().splitlines()) == 2 and "NRAS" not in csv and "BRAF" in csv
    assert [s["code"] for s in c.get("/api/v1/sites", headers=h).json()] == ["A"]
    session, _ = env_any.login("clin_a")
    page = session.get("/patients", params={"q": "1"}).text
    assert "A-1" in page and "B-1" not in page
    # a cross-site role sees both
    hc = env_any.bearer("coord")
    assert c.get("/api/v1/patients/count", headers=hc).json() == {"count": 2}


def test_role_permissions_are_enforced(env: Any) -> None:
    c = env.client()
    r = c.post("/api/v1/patients", json={"pseudonym": "X-1", "site": "A"}, headers=env.bearer("auditor"))
    assert r.status_code == 403
    r = c.get("/api/v1/audit/verify", headers=env.bearer("clin_a"))
    assert r.status_code == 403
    r = c.get("/api/v1/audit/verify", headers=env.bearer("auditor"))
    assert r.status_code == 200 and r.json()["ok"] is True
    r = c.delete(f"/api/v1/patients/{env.patient_a}", headers=env.bearer("clin_a"))
    assert r.status_code == 403
    r = c.get("/api/v1/patients")
    assert r.status_code == 401
    assert c.get("/api/v1/patients", headers={"Authorization": "Bearer rdf_wrong"}).status_code == 401
    assert Permission.PUBLIC.value == "public"
