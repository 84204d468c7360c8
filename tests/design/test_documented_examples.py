"""Published/documented outputs of clinfun 1.1.5.

Source: the clinfun vignette "Functions For Clinical Trial Design", shipped as
``inst/doc/clinical-trial-functions.html`` in clinfun 1.1.5 (CRAN; GitHub mirror cran/clinfun, commit
"version 1.1.5"), rendered output of

- ``ph2simon(0.05, 0.2, 0.1, 0.1)`` (lenvatinib trial, Tchekmedyian et al. 2019): Minimax 0/18, 3/32,
  EN 26.44, PET 0.3972, q 0.640-1.000; Admissible 0/15, 3/33, EN 24.66, PET 0.4633, q 0.323-0.640;
  Admissible 0/13, 3/35, EN 23.71, PET 0.5133, q 0.097-0.323; Optimal 0/12, 3/37, EN 23.49,
  PET 0.5404, q 0.000-0.097;
- ``twostage.admissible(ph2simon(0.25, 0.45, 0.05, 0.1))``: Minimax 6/26, 17/49, EN 37.14596,
  PET 0.5153932; Admissible 7/26, 17/50, EN 33.55630, PET 0.6851542; Optimal 6/22, 19/57, EN 32.52206,
  PET 0.6993697 (q 0.782, 0.129);
- ``ph2single(0.4, 0.6, 0.1, 0.1)``: (41, 20, 0.09651722), (43, 21, 0.09132412), (45, 22, 0.08645205),
  (47, 23, 0.08187654), (49, 24, 0.07757556) (type I error = type II error by symmetry).
"""

from __future__ import annotations

import pytest

from redif.design.exact import single_stage_designs
from redif.design.simon import simon_design


def test_vignette_lenvatinib() -> None:
    res = simon_design(0.05, 0.2, 0.1, 0.1)
    expected = [((0, 18, 3, 32), 26.44, 0.3972, 0.640, 1.000), ((0, 15, 3, 33), 24.66, 0.4633, 0.323, 0.640),
                ((0, 13, 3, 35), 23.71, 0.5133, 0.097, 0.323), ((0, 12, 3, 37), 23.49, 0.5404, 0.000, 0.097)]
    assert len(res.admissible) == len(expected)
    for d, (design, en, pet, qlo, qhi) in zip(res.admissible, expected, strict=True):
        assert (d.r1, d.n1, d.r, d.n) == design
        assert round(d.en0, 2) == pytest.approx(en) and round(d.pet0, 4) == pytest.approx(pet)
        assert d.q_lo is not None and d.q_hi is not None
        assert round(d.q_lo, 3) == pytest.approx(qlo) and round(d.q_hi, 3) == pytest.approx(qhi)


def test_vignette_admissible() -> None:
    res = simon_design(0.25, 0.45, 0.05, 0.1)
    expected = [((6, 26, 17, 49), 37.14596, 0.5153932), ((7, 26, 17, 50), 33.55630, 0.6851542),
                ((6, 22, 19, 57), 32.52206, 0.6993697)]
    for d, (design, en, pet) in zip(res.admissible, expected, strict=True):
        assert (d.r1, d.n1, d.r, d.n) == design
        assert d.en0 == pytest.approx(en, abs=5e-6) and d.pet0 == pytest.approx(pet, abs=5e-8)
    assert [round(d.q_lo or 0, 3) for d in res.admissible] == [0.782, 0.129, 0.0]


def test_vignette_single_stage() -> None:
    got = single_stage_designs(0.4, 0.6, 0.1, 0.1, solutions=5)
    expected = [(41, 20, 0.09651722), (43, 21, 0.09132412), (45, 22, 0.08645205), (47, 23, 0.08187654),
                (49, 24, 0.07757556)]
    for d, (n, r, err) in zip(got, expected, strict=True):
        assert (d.n, d.r) == (n, r)
        assert d.alpha == pytest.approx(err, abs=5e-9)
        assert 1 - d.power == pytest.approx(err, abs=5e-9)
