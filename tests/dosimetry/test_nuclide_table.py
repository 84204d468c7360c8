"""Issue 10: nuclides are one table (``data/nuclides.yaml`` via :mod:`redif.dosimetry.nuclides`), with the
kernels and sphere S-values each nuclide has; the dose engines, the CLI and the web read it.

Expected values: the table itself (completeness), the kernel files and the sphere S-value CSV shipped
with redif, and ICRP-107 (I-131 is the therapy nuclide, T1/2 = 8.0207 d).
"""

from __future__ import annotations

import ast
import math
import re
from pathlib import Path

import pytest

from redif.data import data_path
from redif.dosimetry.kernels import available_voxel_sizes_mm, load_kernel
from redif.dosimetry.nuclides import THERAPY_NUCLIDE, available_nuclides, get_nuclide
from redif.dosimetry.spheres import sphere_nuclides, sphere_s_value, sphere_table
from redif.errors import InputError
from redif.web.routes import calculators

_SRC = Path(__file__).resolve().parents[2] / "src" / "redif"


def test_table_is_complete() -> None:
    """Every nuclide has a sourced half-life; a named kernel folder holds kernels; a named sphere column
    exists in the S-value CSV; nuclides with S-values have both mean energies (S needs them)."""
    cols = set(sphere_table())
    for name in available_nuclides():
        nuc = get_nuclide(name)
        assert nuc.half_life_h > 0 and nuc.source
        if nuc.voxel_kernels is not None:
            assert data_path(nuc.voxel_kernels).is_dir()
            assert available_voxel_sizes_mm("soft", name) and available_voxel_sizes_mm("bone", name)
        if nuc.sphere_svalue_column is not None:
            assert nuc.sphere_svalue_column in cols
            assert nuc.electron_energy_mev is not None and nuc.photon_energy_mev is not None
    assert set(sphere_nuclides()) == {"I-131", "I-124"}


def test_therapy_nuclide_has_everything_the_dose_engines_need() -> None:
    """The therapy nuclide (ICRP-107 I-131) has voxel kernels and sphere S-values."""
    nuc = get_nuclide(THERAPY_NUCLIDE)
    assert nuc.name == "I-131" and nuc.half_life_h == pytest.approx(8.0207 * 24)
    assert nuc.voxel_kernels is not None and nuc.sphere_svalue_column is not None
    size = available_voxel_sizes_mm("soft")[0]
    assert load_kernel(size, "soft").shape == (11, 11, 11)
    assert sphere_s_value(10.0).nuclide == THERAPY_NUCLIDE


def test_nuclide_without_kernels_or_svalues_is_refused() -> None:
    """I-123 (half-life only) has neither: the engines say so, naming the field ``nuclide``."""
    with pytest.raises(InputError) as info:
        load_kernel(available_voxel_sizes_mm("soft")[0], "soft", "I-123")
    assert info.value.field == "nuclide"
    with pytest.raises(InputError) as info:
        sphere_s_value(10.0, "I-123")
    assert info.value.field == "nuclide"


@pytest.mark.parametrize("pkg", ["dosimetry", "cli", "web"])
def test_no_hard_coded_therapy_nuclide(pkg: str) -> None:
    """No code in the dose engines, the CLI or the web spells "I-131" as a value (docstrings and comments
    may): they read the table's therapy nuclide."""
    found = []
    for path in sorted((_SRC / pkg).rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        docs = {id(n.body[0].value) for n in ast.walk(tree)
                if isinstance(n, ast.Module | ast.FunctionDef | ast.ClassDef) and n.body
                and isinstance(n.body[0], ast.Expr) and isinstance(n.body[0].value, ast.Constant)}
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and id(node) not in docs and isinstance(node.value, str) \
                    and re.fullmatch(r"I-?131|131I", node.value):
                found.append(f"{path.relative_to(_SRC)}:{node.lineno}")
    assert found == []


def test_web_calculators_use_the_therapy_nuclide() -> None:
    """The plausible TIA bound of the web calculators is the therapy nuclide's mean life."""
    mean_life_h = get_nuclide(THERAPY_NUCLIDE).half_life_h / math.log(2)
    assert pytest.approx(mean_life_h) == calculators._I131_MEAN_LIFE_H
