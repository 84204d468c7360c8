"""Sign-in, sessions, CSRF, security headers, throttling, pages, uploads through the app."""

from __future__ import annotations

import io
import re
import warnings
import zipfile
from typing import Any

from dicom_corpus import make_pet_series  # type: ignore[import-not-found]


def test_health_and_openapi(env: Any) -> None:
    c = env.client()
    assert c.get("/healthz").json() == {"status": "ok"}
    schema = c.get("/openapi.json").json()
    assert schema["openapi"].startswith("3.")
    assert "/api/v1/patients/{patient_id}" in schema["paths"]
    assert not any(p.startswith("/patients") for p in schema["paths"])  # HTML pages stay out


def test_security_headers(env: Any) -> None:
    c = env.client()
    for path in ("/login", "/healthz", "/api/v1/patients", "/static/style.css"):
        h = c.get(path).headers
        assert "frame-ancestors 'none'" in h["content-security-policy"]
        assert "script-src 'self'" in h["content-security-policy"]
        assert h["x-content-type-options"] == "nosniff"
        assert h["x-frame-options"] == "DENY"
        assert h["referrer-policy"] == "same-origin"
    assert c.get("/login").headers["cache-control"] == "no-store"


def test_login_sets_hardened_session_cookie(env: Any) -> None:
    c = env.client()
    page = c.get("/login").text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
    r = c.post(
        "/login",
        data={
            "username": "clin_a",
            "password": "correct horse battery",
            "csrf_token": token,
            "next": "//evil.example/x",
        },
        follow_redirects=False,
    )
    assert r.status_code == 303 and r.headers["location"] == "/patients"  # no open redirect
    cookies = [v for k, v in r.headers.multi_items() if k == "set-cookie"]
    cookie = next(v for v in cookies if v.startswith("redif_session="))
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie.replace("Lax", "lax") and "Path=/" in cookie
    assert "Secure" not in cookie  # configurable; off for plain-HTTP loopback
    assert c.get("/patients").status_code == 200
    assert c.get("/api/v1/me").json()["username"] == "clin_a"


def test_login_form_requires_csrf_and_wrong_password_is_generic(env: Any) -> None:
    c = env.client()
    c.get("/login")
    r = c.post("/login", data={"username": "clin_a", "password": "correct horse battery"})
    assert r.status_code == 403
    token = c.cookies.get("redif_csrf")
    r = c.post("/login", data={"username": "nobody", "password": "x", "csrf_token": token})
    assert r.status_code == 401 and "Wrong username or password." in r.text


def test_login_throttling_message(env: Any) -> None:
    c = env.client()
    c.get("/login")
    token = c.cookies.get("redif_csrf")
    codes = [
        c.post("/login", data={"username": "auditor", "password": "wrong", "csrf_token": token}).status_code
        for _ in range(5)
    ]
    assert codes == [401] * 5
    r = c.post(
        "/login", data={"username": "auditor", "password": "correct horse battery", "csrf_token": token}
    )
    assert r.status_code == 429
    assert "Too many failed sign-in attempts" in r.text and "Try again in 15 minutes" in r.text


def test_csrf_on_state_changing_requests(env: Any) -> None:
    c, csrf = env.login("clin_a")
    assert c.post("/patients", data={"pseudonym": "CSRF-1"}, follow_redirects=False).status_code == 403
    assert (
        c.post(
            "/patients", data={"pseudonym": "CSRF-1", "csrf_token": "forged"}, follow_redirects=False
        ).status_code
        == 403
    )
    r = c.post("/api/v1/patients", json={"pseudonym": "CSRF-2"})
    assert r.status_code == 403 and r.json()["error"] == "CsrfFailed"
    r = c.post("/api/v1/patients", json={"pseudonym": "CSRF-2"}, headers={"X-CSRF-Token": csrf})
    assert r.status_code == 201
    r = c.post("/patients", data={"pseudonym": "CSRF-1", "csrf_token": csrf}, follow_redirects=False)
    assert r.status_code == 303
    # bearer-token clients carry no ambient credentials: no CSRF token needed
    r = env.client().post("/api/v1/patients", json={"pseudonym": "TOK-1"}, headers=env.bearer("clin_a"))
    assert r.status_code == 201


def test_logout_ends_session(env: Any) -> None:
    c, csrf = env.login("clin_a")
    assert c.post("/logout", data={"csrf_token": csrf}, follow_redirects=False).status_code == 303
    r = c.get("/patients", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/login?next=")


def test_pages_render(env: Any) -> None:
    c, csrf = env.login("clin_a")
    page = c.get("/patients").text
    assert "A-1" in page and "<table>" in page and "Decision support" in page
    assert c.get("/patients", headers={"HX-Request": "true"}).text.strip().startswith("<tr>")
    detail = c.get(f"/patients/{env.patient_a}").text
    assert "BRAF" in detail and "Download PDF report" in detail
    r = c.post(
        f"/patients/{env.patient_a}/records/labs",
        data={"csrf_token": csrf, "analyte": "Tg", "value": "4.2", "unit": "ng/mL"},
        follow_redirects=False,
    )
    assert r.status_code == 303
    assert "4.2" in c.get(f"/patients/{env.patient_a}").text
    r = c.post(
        f"/patients/{env.patient_a}/records/labs",
        data={"csrf_token": csrf, "analyte": "Tg", "value": "-1", "unit": "ng/mL"},
    )
    assert r.status_code == 422 and "value" in r.text
    r = c.post(f"/patients/{env.patient_a}/report.pdf", data={"csrf_token": csrf})
    assert r.status_code == 200 and r.content.startswith(b"%PDF")


def test_api_errors_are_json_4xx(env: Any) -> None:
    c = env.client()
    h = env.bearer("clin_a")
    r = c.post("/api/v1/patients", json={"pseudonym": "bad name!"}, headers=h)
    assert r.status_code == 422 and r.json()["field"].endswith("pseudonym")
    r = c.post(
        f"/api/v1/patients/{env.patient_a}/records/adverse-events",
        json={"term": "rash", "ctcae_grade": 9},
        headers=h,
    )
    assert r.status_code == 422 and r.json()["field"] == "ctcae_grade"
    r = c.post("/api/v1/patients", content=b"{not json", headers={**h, "content-type": "application/json"})
    assert r.status_code == 422
    r = c.post("/api/v1/patients", json={"pseudonym": "NUL\u0000"}, headers=h)
    assert r.status_code == 422
    assert c.get("/api/v1/patients/99999999999", headers=h).status_code == 422
    assert c.get("/api/v1/nothing", headers=h).status_code == 404


def test_upload_limits_through_the_app(env: Any) -> None:
    c = env.client()
    h = env.bearer("clin_a")
    url = f"/api/v1/patients/{env.patient_a}/dicom"
    r = c.post(url, files={"file": ("big.dcm", b"x" * 6_000_000)}, headers=h)
    assert r.status_code == 413 and "larger than the limit" in r.json()["message"]
    assert r.headers["x-frame-options"] == "DENY"
    r = c.post(url, files={"file": ("notes.txt", b"just text")}, headers=h)
    assert r.status_code == 422 and "not a DICOM file" in r.json()["message"]
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("zeros.dcm", b"\0" * 4_000_000)
    r = c.post(url, files={"file": ("bomb.zip", buf.getvalue())}, headers=h)
    assert r.status_code == 422 and "zip bomb" in r.json()["message"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        files = make_pet_series(2).files
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for i, f in enumerate(files):
            zf.writestr(f"{i}.dcm", f)
    r = c.post(url, files={"file": ("series.zip", buf.getvalue())}, headers=h)
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["n_instances"] == 2 and abs(body["injection_to_scan_h"] - 24.5) < 1e-9
