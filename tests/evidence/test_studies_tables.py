"""Outcome tables (uptake, response) built from the evidence base.

Expected counts are read by hand from the project's evidence table (each row cites its publication;
docs/methods/sources-and-grades.md); the docstrings quote the cells.
"""

from __future__ import annotations

import itertools

import pytest

from redif.errors import InputError
from redif.evidence.enums import EvidenceGrade, GenotypeGroup, UptakeDefinition
from redif.evidence.studies import load_evidence, parse_study
from redif.evidence.tables import MODERATORS, outcome_table


def _triples(table) -> list[tuple[str, int, int]]:  # type: ignore[no-untyped-def]
    return [(r.row_id, r.events, r.total) for r in table.rows]


def test_default_uptake_table() -> None:
    """the evidence table, column n_uptake_restored / n_evaluable, with the default rules (arms before their
    whole; one definition per arm in DEFINITION_PRIORITY order; min grade secondary):

    - P01a "4 increased" / 9, P01b "5 increased" / 5, P01c "3 increased (derived 12-4-5)" / "6 (derived)"
      -- they partition P01's 20 evaluable, so P01 itself is not used;
    - P03 "4 (124I responders)" / 10 (lesion-dose threshold);
    - P05 2 / 6 and P05b 5 / 14 (partition P05c's 20; 2 + 5 = 7 = P05c's "7 (35%)");
    - P07 "dcWBS2 4/10" (diagnostic scan comes before the post-therapy scan);
    - P08 "11 (39.3% ...)" / "28 analysed"; C01 2 / 3 (n_enrolled 3);
    - C03 Lee 2021 2/2 (issue 12 curation: abstract "restored 125I radioiodine uptake" in both girls).
    Left out: P02 (its 6 and its 10 are unverified); P06 (issue 12 curation: the day-28 65% has no
    denominator and the post-therapy 95% is now 19/20, derived and unverified -- 5/65/95% fit 20, not 21);
    S03/S03a/S03b (unreliable-secondary).
    """
    table = outcome_table(load_evidence(), "uptake")
    assert _triples(table) == [
        ("P01a", 4, 9), ("P01b", 5, 5), ("P01c", 3, 6), ("P03", 4, 10), ("P05", 2, 6), ("P05b", 5, 14),
        ("P07", 4, 10), ("P08", 11, 28), ("C01", 2, 3), ("C03", 2, 2),
    ]
    assert [e.row_id for e in table.excluded] == ["P02", "P06", "S03", "S03a", "S03b"]
    assert "unverified" in table.excluded[0].reason
    assert "unverified" in table.excluded[1].reason and "65%" in table.excluded[1].reason
    assert "unreliable-secondary" in table.excluded[2].reason


def test_default_response_table() -> None:
    """Issue 12: the default denominator is intention to treat (everyone who started the drug,
    n_started_drug): CR + PR from the evidence table recist_CR + recist_PR, over
    P01 0 (derived) + 5 / 20 (Ho 2013: the 20 evaluable; issue 12 hand count "Ho is 5/20");
    P05c "0 (derived)" + 1 / 20 (ERRITI abstract "7 of 20", all 20 received the drug; "ERRITI 1/20");
    P06 "0 (derived)" + "8 (38%)" / 24 enrolled (source table "orr_among_enrolled 8/24 (derived)");
    P07 "0 (derived)" + "2 (20%)" / 11 enrolled ("orr_among_enrolled 2/11 (derived)").
    P02 has no CR cell (and unverified PR), P03 has only "4 treated": both reported as left out."""
    table = outcome_table(load_evidence(), "response")
    assert table.denominator == "itt" and table.filters["denominator"] == "itt"
    assert _triples(table) == [("P01", 5, 20), ("P05c", 1, 20), ("P06", 8, 24), ("P07", 2, 11)]
    assert {e.row_id for e in table.excluded} == {"P02", "P03"}
    assert all(r.derived for r in table.rows)  # every CR = 0 is derived


def test_restrict_to_definition() -> None:
    """Post-therapy scan: P07 "6/10"; P06 "95%" is 19/20 derived and unverified since issue 12 (5/65/95%
    fit 20, not 21), so it enters only at min grade unverified. Diagnostic scan: P05 2/6, P05b 5/14,
    P07 4/10; P06's 65% has no count and P02's count is unverified -> both listed as left out."""
    base = load_evidence()
    post = outcome_table(base, "uptake", definition=UptakeDefinition.POST_THERAPY_SCAN)
    assert _triples(post) == [("P07", 6, 10)]
    assert [e.row_id for e in post.excluded] == ["P06"] and "unverified" in post.excluded[0].reason
    loose = outcome_table(base, "uptake", definition=UptakeDefinition.POST_THERAPY_SCAN,
                          min_grade="unverified")
    assert _triples(loose) == [("P06", 19, 20), ("P07", 6, 10)]
    diag = outcome_table(base, "uptake", definition="diagnostic")
    assert _triples(diag) == [("P05", 2, 6), ("P05b", 5, 14), ("P07", 4, 10)]
    reasons = {e.row_id: e.reason for e in diag.excluded}
    assert set(reasons) == {"P02", "P06"} and "65%" in reasons["P06"]


def test_threshold_definition_uses_the_whole_when_arms_incomplete() -> None:
    """Ho 2013: "8 reached threshold" of 20 overall, but only the NRAS subgroup reports its threshold count
    ("5 reached threshold"), so the arms do not partition the whole: P01 8/20 is used, P01b is not."""
    table = outcome_table(load_evidence(), "uptake", definition="lesion-dose threshold reached")
    assert _triples(table) == [("P01", 8, 20), ("P03", 4, 10)]


def test_genotype_filter_reaches_into_subgroups() -> None:
    """BRAF V600E: P01a 4/9, P03 4/10, P05 2/6 (P06 19/20 is unverified since issue 12: left out at the
    default grade); RAS: P01b 5/5, P07 4/10."""
    base = load_evidence()
    braf = outcome_table(base, "uptake", genotype="BRAF V600E")
    assert _triples(braf) == [("P01a", 4, 9), ("P03", 4, 10), ("P05", 2, 6)]
    assert "P06" in {e.row_id for e in braf.excluded}
    ras = outcome_table(base, "uptake", genotype=GenotypeGroup.RAS)
    assert _triples(ras) == [("P01b", 5, 5), ("P07", 4, 10)]


def test_min_grade_unverified_admits_unverified_counts() -> None:
    """P02 6/10 (unverified) enters at min grade 'unverified'; at 'unreliable-secondary' S03 enters as its
    overall 19/33 ("19 (57.6%) (derived from %)" of 33), because S03a + S03b (18 + 11) do not make 33."""
    base = load_evidence()
    unv = outcome_table(base, "uptake", min_grade="unverified")
    assert ("P02", 6, 10) in _triples(unv)
    assert next(r for r in unv.rows if r.row_id == "P02").grade is EvidenceGrade.UNVERIFIED
    everything = outcome_table(base, "uptake", min_grade="unreliable-secondary")
    assert ("S03", 19, 33) in _triples(everything)
    assert not {"S03a", "S03b"} & {r.row_id for r in everything.rows}
    assert everything.excluded == ()


def test_primary_only() -> None:
    """Secondary rows (P06, P08, C01) drop out at min grade primary and are reported."""
    table = outcome_table(load_evidence(), "uptake", min_grade="primary")
    ids = {r.row_id for r in table.rows}
    assert not {"P06", "P08", "C01"} & ids
    assert {"P06", "P08", "C01"} <= {e.row_id for e in table.excluded}


def test_prefer_overall() -> None:
    """prefer='overall': Ho 2013 contributes P01 (its threshold count 8/20 comes first in the priority),
    ERRITI contributes P05c 7/20."""
    table = outcome_table(load_evidence(), "uptake", prefer="overall")
    trip = _triples(table)
    assert ("P01", 8, 20) in trip and ("P05c", 7, 20) in trip
    assert not {"P01a", "P01b", "P01c", "P05", "P05b"} & {r.row_id for r in table.rows}


def test_never_a_part_with_its_whole() -> None:
    """Exhaustive over every filter combination: no table holds a record and its part_of whole, and no
    record twice."""
    base = load_evidence()
    genos: list[GenotypeGroup | None] = [None, *GenotypeGroup]
    defs: list[UptakeDefinition | None] = [None, *UptakeDefinition]
    for geno, defn, grade, prefer in itertools.product(genos, defs, list(EvidenceGrade), ("arms", "overall")):
        for outcome in ("uptake", "response"):
            if outcome == "response" and defn is not None:
                continue
            table = outcome_table(base, outcome, genotype=geno, definition=defn, min_grade=grade,
                                  prefer=prefer)  # type: ignore[arg-type]
            ids = [r.row_id for r in table.rows]
            assert len(ids) == len(set(ids))
            for r in table.rows:
                assert r.part_of is None or r.part_of not in ids
                assert r.grade.at_least(grade)
                if geno is not None:
                    assert r.genotype is geno
                if defn is not None:
                    assert r.definition is defn
                assert 0 <= r.events <= r.total


def test_merged_study_enters_table() -> None:
    extra = parse_study({
        "row_id": "U1", "row_type": "arm", "label": "user", "genotype": "NTRK fusion", "grade": "primary",
        "source": "s", "n_evaluable": 4,
        "uptake": [{"definition": "uptake on diagnostic scan", "restored": 3}],
    })
    table = outcome_table([*load_evidence(), extra], "uptake", genotype="NTRK")
    assert _triples(table) == [("C01", 2, 3), ("U1", 3, 4)]


def test_moderator_columns() -> None:
    table = outcome_table(load_evidence(), "uptake")
    weeks = dict(zip([r.row_id for r in table.rows], table.column("weeks_drug_before_uptake_assessment"),
                     strict=True))
    assert weeks["P05"] == 3 and weeks["P07"] == 4
    assert table.column("lesional_dosimetry")[0] == "yes"
    assert table.column("year")[0] == 2013.0
    assert set(MODERATORS) >= {"genotype", "definition", "drug"}
    with pytest.raises(InputError, match="unknown moderator"):
        table.column("colour")


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"outcome": "survival"}, "outcome"),
        ({"outcome": "uptake", "genotype": "EGFR"}, "genotype"),
        ({"outcome": "uptake", "definition": "vibes"}, "definition"),
        ({"outcome": "uptake", "min_grade": "excellent"}, "min_grade"),
        ({"outcome": "response", "definition": "diagnostic"}, "definition"),
    ],
)
def test_bad_options(kwargs: dict[str, str], field: str) -> None:
    """Issue 10: the engine names its own parameter (the CLI shows ``--min-grade`` for ``min_grade``)."""
    with pytest.raises(InputError) as info:
        outcome_table(load_evidence(), **kwargs)  # type: ignore[arg-type]
    assert info.value.field == field
