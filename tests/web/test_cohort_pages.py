"""Issue 16: the patient page shows the patient's timeline (inline SVG with a hover title per mark and
the table of marks) and /cohort shows the swimmer and waterfall plots of the patients in the user's
scope: site B's patient is absent for a site-A user, a coordinator sees both sites, an anonymous
caller is refused. The patients are the hand-made ``cohort_world.COHORT`` (expected marks counted by hand
in its docstring)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from cohort_world import add_cohort
from sqlalchemy import select
from web_world import Env, build_env

from redif.registry.access import Principal, Role
from redif.registry.models import User


@pytest.fixture(scope="module")
def cenv(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Env, dict[str, int]]]:
    d = tmp_path_factory.mktemp("cohort-web")
    e = build_env(f"sqlite:///{d / 'r.sqlite'}", Path(d))
    db = e.app.state.db
    with db.write_session(actor="setup") as s:
        principals = {u.username: Principal(u.id, u.username, Role(u.role), u.site_id)
                      for u in s.scalars(select(User))}
        ids = add_cohort(s, principals)
    yield e, ids
    db.dispose()


def test_patient_page_shows_the_timeline(cenv: tuple[Env, dict[str, int]]) -> None:
    """Issue 16: A-T1's page carries the timeline figure: 13 marks (1 course, 1 dose reduction, rhTSH,
    1 uptake scan, 1 post-therapy scan, 131I, 3 responses, 1 progression, Tg x2 + TgAb), hover titles, the
    marks table, and no inline style (the page's CSP is style-src 'self')."""
    env, ids = cenv
    c, _ = env.login("clin_a")
    page = c.get(f"/patients/{ids['A-T1']}").text
    section = page[page.index('id="timeline"'):page.index("</section>", page.index('id="timeline"'))]
    assert "<svg" in section and 'role="img"' in section
    assert "Timeline marks (13)" in section
    assert "Activity (GBq): 5.5" in section and "rhTSH" in section
    assert section.count("<title>") >= 13
    assert "style=" not in section.split("<svg", 1)[1]
    assert c.get(f"/patients/{ids['B-T1']}").status_code == 404  # another site's patient: not found


def test_cohort_page_is_site_scoped(cenv: tuple[Env, dict[str, int]]) -> None:
    """Issue 16: a site-A user's cohort lists A-T1 and A-T2 only; the coordinator's lists B-T1 too."""
    env, _ = cenv
    c, _ = env.login("clin_a")
    r = c.get("/cohort")
    assert r.status_code == 200
    assert "A-T1" in r.text and "A-T2" in r.text and "B-T1" not in r.text
    assert "Swimmer plot data (2 patients)" in r.text and "Waterfall plot data (2 patients)" in r.text
    assert 'href="/cohort"' in r.text  # the nav link
    coord, _ = env.login("coord")
    page = coord.get("/cohort").text
    assert "B-T1" in page and "Swimmer plot data (3 patients)" in page
    svg_ids = re.findall(r'\bid="((?:swimmer|waterfall)-[^"]+)"', page)
    assert svg_ids and len(svg_ids) == len(set(svg_ids))  # two figures, no duplicate id


def test_cohort_filters_colour_and_downloads(cenv: tuple[Env, dict[str, int]]) -> None:
    """Issue 16: the genotype filter keeps BRAF V600E only; colour by uptake restored; SVG and PNG downloads;
    an unknown colour column is refused."""
    env, _ = cenv
    coord, _ = env.login("coord")
    page = coord.get("/cohort", params={"genotype": "BRAF V600E", "colour_by": "uptake_restored"}).text
    assert "Swimmer plot data (1 patients)" in page and "B-T1" not in page.split("<h2", 1)[1]
    # the download links carry the filters URL-encoded (a genotype holds a space)
    assert "/cohort/swimmer.svg?colour_by=uptake_restored&amp;genotype=BRAF+V600E" in page
    r = coord.get("/cohort/swimmer.svg", params={"site": "B"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("image/svg+xml")
    assert "B-T1" in r.text and "A-T1" not in r.text
    r = coord.get("/cohort/waterfall.png")
    assert r.status_code == 200 and r.content.startswith(b"\x89PNG")
    assert coord.get("/cohort/waterfall.pdf").status_code == 404
    assert coord.get("/cohort", params={"colour_by": "drug"}).status_code in (400, 422)
    clin_a, _ = env.login("clin_a")
    r = clin_a.get("/cohort/swimmer.svg")
    assert "B-T1" not in r.text


def test_cohort_refuses_anonymous_callers(cenv: tuple[Env, dict[str, int]]) -> None:
    """Issue 16: without a session or token the cohort page and its downloads are refused (no data)."""
    env, _ = cenv
    c = env.client()
    for path in ("/cohort", "/cohort/swimmer.svg"):
        r = c.get(path, follow_redirects=False)
        assert r.status_code in (303, 401, 403) and "A-T1" not in r.text
