"""Issue 12 (like with like) in the trial designer: a MAP prior from the evidence base's uptake arms never
mixes definitions of restored uptake unless asked to, and then says so.

Expected arms are read by hand from ``src/redif/data/evidence_studies.yaml`` (the evidence engine's row
choice, ``tests/evidence/test_studies_tables.py``): BRAF V600E at the default grade is Ho 2013's BRAF
subgroup (4/9, increased 124I uptake), Dunn 2019 (4/10, lesion-dose threshold) and ERRITI's BRAF arm (2/6,
diagnostic scan) -- three definitions.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from redif.design.historical import arms_from_evidence
from redif.evidence.tables import MixedDefinitionsError


def test_engine_refuses_mixed_definitions_and_labels_a_mix() -> None:
    """Without a definition the BRAF uptake arms span three definitions: refused, naming them; with
    mix_definitions the arms come back, labelled; with one definition no label is needed."""
    with pytest.raises(MixedDefinitionsError) as err:
        arms_from_evidence("uptake", genotype="BRAF")
    text = str(err.value)
    assert err.value.field == "definition" and "3 definitions" in text
    for name in ("increased 124I uptake", "lesion-dose threshold reached", "uptake on diagnostic scan"):
        assert name in text
    mixed = arms_from_evidence("uptake", genotype="BRAF", mix_definitions=True)
    assert (mixed.r, mixed.n) == ((4, 4, 2), (9, 10, 6))
    assert mixed.mixed_definitions and "MIXED DEFINITIONS" in mixed.selection
    assert mixed.to_dict()["mixed_definitions"] is True
    one = arms_from_evidence("uptake", genotype="BRAF", definition="diagnostic")
    assert (one.r, one.n, one.mixed_definitions) == ((2,), (6,), False)
    # response has no definitions: nothing to refuse
    assert arms_from_evidence("response").mixed_definitions is False


def test_not_reported_definitions_are_not_pooled() -> None:
    """C01 and C03 report no definition of restored uptake: two unknown definitions are not known to be
    alike, so even '--definition "not reported"' does not make them one prior."""
    with pytest.raises(MixedDefinitionsError) as err:
        arms_from_evidence("uptake", definition="not reported")
    assert "not reported (C01)" in str(err.value) and "not reported (C03)" in str(err.value)


def test_cli_map_from_evidence_refuses_then_mixes(redif_cli: Any) -> None:
    """`redif design map --from-evidence` without --definition: exit 2, one line naming the definitions
    and both fixes as flags; with --mix-definitions the JSON says mixed_definitions true."""
    out = redif_cli("design", "map", "--from-evidence", "--outcome", "uptake", "--genotype", "BRAF", "--json")
    assert out.returncode == 2, out.stdout
    lines = [ln for ln in out.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: --definition")
    assert "--definition 'increased 124I uptake'" in lines[0] and "--mix-definitions" in lines[0]
    assert "uptake on diagnostic scan" in lines[0]
    ok = redif_cli("design", "map", "--from-evidence", "--outcome", "uptake", "--genotype", "BRAF",
                   "--mix-definitions", "--json")
    assert ok.returncode == 0, ok.stderr
    data = json.loads(ok.stdout)
    assert data["mixed_definitions"] is True and data["historical"]["mixed_definitions"] is True
    assert [a["n"] for a in data["historical"]["arms"]] == [9, 10, 6]
