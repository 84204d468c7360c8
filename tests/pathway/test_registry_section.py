"""The pathway section of the registry PDF report (redif.reports.pdf asks each engine package)."""

from __future__ import annotations

from redif.pathway import registry_report_section


def _patient(genotypes: list[dict[str, object]]) -> dict[str, object]:
    return {
        "pseudonym": "DEMO-1",
        "rai_refractory_criterion": "no uptake on post-therapy scan",
        "progression_date": "2024-01-10",
        "records": {"genotypes": genotypes},
    }


def test_braf_patient_section() -> None:
    """BRAF V600E -> the four BRAF regimens of regimens.yaml (docs/methods/protocols.md), each with
    source and grade."""
    sec = registry_report_section(_patient([{"gene": "BRAF", "variant": "p.V600E", "fusion_partner": None}]))
    assert sec is not None
    assert sec["lines"][0].startswith(
        "BRAF p.V600E: genotype group BRAF V600E; evidence: prospective trial; covered by ATA 2025 Rec 74A"
    )
    table = sec["table"]
    assert isinstance(table, dict)
    assert [row[1] for row in table["rows"]] == [
        "dabrafenib + trametinib",
        "dabrafenib",
        "vemurafenib",
        "selumetinib",
    ]
    assert any("PMID 40844370" in s for s in sec["sources"])  # type: ignore[union-attr]


def test_fusion_and_untargeted() -> None:
    sec = registry_report_section(_patient([{"gene": "NTRK3", "fusion_partner": "ETV6"}, {"gene": "TERT"}]))
    assert sec is not None
    assert sec["lines"][0].startswith(
        "ETV6-NTRK3 fusion: genotype group NTRK fusion; evidence: case reports only; not covered by ATA 2025 "
        "Rec 74A"
    )
    assert sec["lines"][1].startswith("TERT: genotype group no regimen group; evidence: no redifferentiation")
    sec = registry_report_section(_patient([{"gene": "TERT", "variant": "C228T"}]))
    assert sec is not None and sec["table"] is None
    assert registry_report_section(_patient([])) is None


def test_pdf_engine_sections_pick_it_up() -> None:
    from redif.reports.pdf import engine_sections

    sections = engine_sections(_patient([{"gene": "NRAS", "variant": "Q61R"}]))
    path = sections[0]
    assert path["available"] is True and path["title"].startswith("Pathway")
    assert [r[1] for r in path["table"]["rows"]] == ["trametinib", "selumetinib"]
