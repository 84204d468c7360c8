"""Property tests (hypothesis) of the outcome tables on random evidence bases.

Invariants: a record and its whole are never both pooled; no record twice; every unit respects the
filters and the minimum grade; 0 <= events <= total; the table does not depend on record order; every
record that reports the outcome is either pooled, represented by its whole/parts, or listed as left out.
"""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from redif.evidence.enums import EvidenceGrade, GenotypeGroup, UptakeDefinition
from redif.evidence.studies import EvidenceBase, merge_studies, parse_study
from redif.evidence.tables import outcome_table

DEFS = [d.value for d in UptakeDefinition]
GENOS = [g.value for g in GenotypeGroup]
GRADES = [g.value for g in EvidenceGrade]


@st.composite
def _family(draw: st.DrawFn, fid: int) -> list[dict[str, Any]]:
    n_parts = draw(st.integers(0, 3))
    defs = draw(st.lists(st.sampled_from(DEFS), min_size=1, max_size=3, unique=True))
    parts = []
    for j in range(n_parts):
        total = draw(st.integers(1, 30))
        uptake = [{"definition": d, "restored": draw(st.integers(0, total))}
                  for d in defs if draw(st.booleans())]
        parts.append({
            "row_id": f"F{fid}p{j}", "row_type": "arm", "label": f"fam {fid} part {j}", "source": "test",
            "genotype": draw(st.sampled_from(GENOS)), "grade": draw(st.sampled_from(GRADES)),
            "n_evaluable": total, "uptake": uptake, "part_of": f"F{fid}",
        })
    parent_total = sum(p["n_evaluable"] for p in parts) + draw(st.integers(0 if parts else 1, 5))
    parent_uptake = []
    for d in defs:
        if not draw(st.booleans()):
            continue
        part_events = [next((u["restored"] for u in p["uptake"] if u["definition"] == d), None)
                       for p in parts]
        if parts and all(e is not None for e in part_events) and parent_total == sum(
                p["n_evaluable"] for p in parts):
            restored = sum(e for e in part_events if e is not None)  # parts partition the whole
        else:
            restored = draw(st.integers(0, parent_total))
        parent_uptake.append({"definition": d, "restored": restored})
    parent = {
        "row_id": f"F{fid}", "row_type": "study overall" if parts else "study", "label": f"fam {fid}",
        "source": "test", "genotype": draw(st.sampled_from(GENOS)), "grade": draw(st.sampled_from(GRADES)),
        "n_evaluable": parent_total, "uptake": parent_uptake,
    }
    return [parent, *parts]


@st.composite
def _base(draw: st.DrawFn) -> list[dict[str, Any]]:
    n = draw(st.integers(1, 6))
    records: list[dict[str, Any]] = []
    for fid in range(n):
        records.extend(draw(_family(fid)))
    return records


@settings(max_examples=150, deadline=None)
@given(records=_base(), geno=st.none() | st.sampled_from(GENOS), defn=st.none() | st.sampled_from(DEFS),
       grade=st.sampled_from(GRADES), prefer=st.sampled_from(["arms", "overall"]), seed=st.randoms())
def test_outcome_table_invariants(records: list[dict[str, Any]], geno: str | None, defn: str | None,
                                  grade: str, prefer: str, seed: Any) -> None:
    arms = [parse_study(r, origin="hypothesis") for r in records]
    base = merge_studies(EvidenceBase(()), arms)
    table = outcome_table(base, "uptake", genotype=geno, definition=defn, min_grade=grade,
                          prefer=prefer)  # type: ignore[arg-type]
    ids = [r.row_id for r in table.rows]
    assert len(ids) == len(set(ids))
    by_id = {a.row_id: a for a in arms}
    families = {r.row_id: (by_id[r.row_id].part_of or r.row_id) for r in table.rows}
    for r in table.rows:
        assert r.part_of is None or r.part_of not in ids  # never a part with its whole
        assert r.grade.at_least(EvidenceGrade(grade))
        assert 0 <= r.events <= r.total
        if geno is not None:
            assert r.genotype.value == geno
        if defn is not None and r.definition is not None:
            assert r.definition.value == defn
    # at most one definition per family level: a family's units are either its whole or its parts
    for fam in set(families.values()):
        members = [i for i, f in families.items() if f == fam]
        assert fam not in members or members == [fam]
    # order independence
    shuffled = list(arms)
    seed.shuffle(shuffled)
    again = outcome_table(merge_studies(EvidenceBase(()), shuffled), "uptake", genotype=geno,
                          definition=defn, min_grade=grade, prefer=prefer)  # type: ignore[arg-type]
    assert sorted((r.row_id, r.events, r.total) for r in again.rows) == sorted(
        (r.row_id, r.events, r.total) for r in table.rows)
    # nothing silently vanishes: a family with a usable-looking outcome either contributes or is listed
    listed = {e.row_id for e in table.excluded}
    contributed = set(families.values())
    for arm in arms:
        if arm.part_of is not None:
            continue
        members = [arm, *(a for a in arms if a.part_of == arm.row_id)]
        reports = [m for m in members if (geno is None or m.genotype.value == geno) and any(
            defn is None or o.definition.value == defn for o in m.uptake)]
        if reports:
            assert arm.row_id in contributed or {m.row_id for m in reports} <= listed


@settings(max_examples=100, deadline=None)
@given(value=st.integers(0, 10_000), flag=st.sampled_from(["", " (derived)", " (unverified)"]))
def test_count_text_round_trip(value: int, flag: str) -> None:
    arm = parse_study({"row_id": "H1", "row_type": "arm", "label": "h", "genotype": "RAS", "grade": "primary",
                       "source": "s", "n_enrolled": f"{value}{flag}"})
    assert arm.n_enrolled is not None and arm.n_enrolled.value == value
    assert arm.n_enrolled.flag.value == (flag.strip(" ()") or "reported")
