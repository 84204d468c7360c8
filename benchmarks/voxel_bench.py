"""Benchmark of the whole voxel-dosimetry pipeline against a straightforward float64 baseline.

Run from the repository root::

    PYTHONPATH=src python benchmarks/voxel_bench.py            # 4 time points of 192 x 192 x 300
    PYTHONPATH=src python benchmarks/voxel_bench.py --shape 96,96,100 --skip-batch   # quick look

Steps timed for each variant (each variant runs in its own subprocess, so that its peak memory,
``resource.getrusage(RUSAGE_SELF).ru_maxrss``, is its own): load the four DICOM time points and the
SEG written by ``redif phantom`` into a temporary folder, per-voxel time-integrated activity, 131I dose
by kernel convolution, per-lesion statistics.

* ``redif``: :func:`redif.workflows.voxel_case.run_voxel_case` (float32 throughout, fast DICOM pixel
  path, per-voxel fit on 124I and 131I-swapped data, scipy.fft with good sizes and the kernel radius as
  the only padding).
* ``redif`` runs with ``register="none"`` (the figures before issue 14); ``redif+reg`` is the same run
  with every later time point registered to the first (rigid, Mattes mutual information, SimpleITK)
  and resampled onto its grid, on a phantom whose later time points are moved by ``--motion-mm``.
  Peak memory: ``ru_maxrss`` of the process (everything, SimpleITK's buffers included) and, with
  ``--tracemalloc``, the peak of the Python/numpy heap (tracemalloc does not see SimpleITK's C++
  buffers).
* ``baseline``: what existing open tools do: pydicom ``pixel_array`` per slice to float64, a float64
  vectorised log-linear fit, ``scipy.signal.fftconvolve(tia, kernel, mode="same")`` in float64, numpy
  percentiles per lesion.

Also times ``dose batch`` on a few small phantoms with 1 worker (sequential) and 2 worker processes.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

_REDIF = r"""
import json, resource, sys, time, tracemalloc
t0 = time.perf_counter()
import highdicom, pydicom, scipy.fft, SimpleITK  # imported before timing, as in the baseline
from redif.workflows.voxel_case import run_voxel_case
t_import = time.perf_counter() - t0
args = json.loads(sys.argv[1])
_r = resource.getrusage(resource.RUSAGE_SELF)
cpu0 = _r.ru_utime + _r.ru_stime
if args.get("tracemalloc"):
    tracemalloc.start()
t0 = time.perf_counter()
s = run_voxel_case(args["pet"], args["seg"], activity_gbq=1.0, read_workers=args["read_workers"],
                   register=args.get("register", "none"))
wall = time.perf_counter() - t0
heap = tracemalloc.get_traced_memory()[1] / 2**20 if args.get("tracemalloc") else None
ru, rc = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
print(json.dumps({"wall_s": wall, "import_s": t_import, "steps": s.timings_s,
                  "cpu_s": ru.ru_utime + ru.ru_stime + rc.ru_utime + rc.ru_stime - cpu0,
                  "peak_mb": max(ru.ru_maxrss, rc.ru_maxrss) / 1024, "heap_mb": heap,
                  "mean_gy": [l["mean_gy"] for l in s.lesions],
                  "tia_imaged": [l["tia_mbq_h_imaged"] for l in s.lesions],
                  "registration": s.registration}))
"""

_BASELINE = r"""
import json, resource, sys, time
import numpy as np
t0 = time.perf_counter()
import pydicom, highdicom as hd
from pathlib import Path
from scipy.signal import fftconvolve
from redif.dosimetry.kernels import load_kernel
from redif.dosimetry.nuclides import get_nuclide
t_import = time.perf_counter() - t0
args = json.loads(sys.argv[1])
_r = resource.getrusage(resource.RUSAGE_SELF)
cpu0 = _r.ru_utime + _r.ru_stime
steps = {}
t0 = time.perf_counter()
frames, times, uids = [], [], None
for d in args["pet"]:
    dss = [pydicom.dcmread(p) for p in sorted(Path(d).iterdir())]
    dss.sort(key=lambda ds: float(ds.ImagePositionPatient[2]))
    vol = np.stack([ds.pixel_array.astype(np.float64) * float(ds.RescaleSlope) + float(ds.RescaleIntercept)
                    for ds in dss])
    frames.append(vol)
    rp = dss[0].RadiopharmaceuticalInformationSequence[0]
    inj = time.mktime(time.strptime(str(rp.RadiopharmaceuticalStartDateTime)[:14], "%Y%m%d%H%M%S"))
    acq = time.mktime(time.strptime(str(dss[0].SeriesDate) + str(dss[0].SeriesTime)[:6], "%Y%m%d%H%M%S"))
    times.append((acq - inj) / 3600.0)
    if uids is None:
        uids = [str(ds.SOPInstanceUID) for ds in dss]
        spacing = float(dss[0].PixelSpacing[0])
seg = hd.seg.segread(args["seg"])
labels = np.asarray(seg.get_pixels_by_source_instance(source_sop_instance_uids=uids, combine_segments=True))
act = np.stack(frames)
steps["load_s"] = time.perf_counter() - t0
t0 = time.perf_counter()
t = np.asarray(times)
lam124 = get_nuclide("I-124").decay_constant_per_h
lam131 = get_nuclide("I-131").decay_constant_per_h
act131 = act * np.exp((lam124 - lam131) * t)[:, None, None, None]
late = act131[1:]
tl = t[1:]
y = np.log(np.clip(late, 1e-12, None))
tm = tl.mean()
slope = ((tl - tm)[:, None, None, None] * (y - y.mean(axis=0))).sum(axis=0) / ((tl - tm) ** 2).sum()
lam = np.maximum(-slope, lam131)
a_first = np.exp(y.mean(axis=0) - lam * (tl[0] - tm))
tia = act131[0] * t[0] + (act131[0] + act131[1]) / 2 * (t[1] - t[0]) + a_first / lam
tia = np.where(late.min(axis=0) > 0, tia, 0.0)
tia_mbq_s = tia * spacing ** 3 / 1000.0 / 1e6 * 3600.0 * 1000.0 / 37.0
steps["tia_s"] = time.perf_counter() - t0
t0 = time.perf_counter()
dose = fftconvolve(tia_mbq_s, load_kernel(spacing, "soft"), mode="same") / 1000.0
steps["dose_s"] = time.perf_counter() - t0
t0 = time.perf_counter()
means = []
for lab in sorted(set(np.unique(labels)) - {0}):
    d = dose[labels == lab]
    means.append(float(d.mean()))
    np.percentile(d, [10, 50]); d.min(); d.max()
steps["stats_s"] = time.perf_counter() - t0
wall = sum(steps.values())
_r = resource.getrusage(resource.RUSAGE_SELF)
print(json.dumps({"wall_s": wall, "import_s": t_import, "steps": steps,
                  "cpu_s": _r.ru_utime + _r.ru_stime - cpu0,
                  "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, "mean_gy": means}))
"""


def _run(code: str, payload: dict[str, object]) -> dict[str, object]:
    env = dict(os.environ)
    src = str(Path(__file__).resolve().parents[1] / "src")
    env["PYTHONPATH"] = os.pathsep.join(p for p in (src, env.get("PYTHONPATH", "")) if p)
    out = subprocess.run([sys.executable, "-c", code, json.dumps(payload)], capture_output=True, text=True,
                         env=env, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def _write_phantom(root: Path, shape: tuple[int, int, int], voxel_mm: float, seed: int = 0,
                   times: tuple[float, ...] = (4.0, 24.0, 48.0, 96.0),
                   motion_mm: tuple[float, float, float] = (0.0, 0.0, 0.0)) -> dict[str, object]:
    from redif.dosimetry.phantoms import PhantomSpec, make_phantom
    from redif.workflows.phantom_files import write_phantom

    spec = PhantomSpec(shape=shape, voxel_mm=voxel_mm, time_points_h=times, noise_cv=0.05, seed=seed,
                       motion_mm=motion_mm)
    ph = make_phantom(spec)
    files = write_phantom(ph, root, with_ct=False)
    return {"pet": [str(p) for p in files.pet_dirs], "seg": str(files.seg_path),
            "truth_tia": [les["tia_mbq_h_i124"] for les in ph.truth["lesions"]]}  # type: ignore[attr-defined]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--shape", default="192,192,300", help="columns,rows,slices")
    ap.add_argument("--voxel-mm", type=float, default=4.0)
    ap.add_argument("--repeats", type=int, default=1)
    ap.add_argument("--skip-batch", action="store_true")
    ap.add_argument("--read-workers", type=int, default=1,
                    help="processes reading the time points in the redif variant (default 1)")
    ap.add_argument("--motion-mm", default="6,-4,10",
                    help="shift of the later time points of the registration phantom (LPS mm)")
    ap.add_argument("--skip-baseline", action="store_true", help="skip the float64 baseline variant")
    ap.add_argument("--skip-registration", action="store_true", help="skip the registered variant")
    ap.add_argument("--tracemalloc", action="store_true",
                    help="also report the Python/numpy heap peak (tracemalloc; slows the run a little)")
    args = ap.parse_args()
    cols, rows, slices = (int(v) for v in args.shape.split(","))
    print(f"machine: {os.cpu_count()} CPUs; python {sys.version.split()[0]}; load average "
          f"{os.getloadavg()[0]:.1f}")
    with tempfile.TemporaryDirectory(prefix="redif-bench-") as tmp:
        t0 = time.perf_counter()
        payload = _write_phantom(Path(tmp) / "ph", (slices, rows, cols), args.voxel_mm)
        payload["read_workers"] = args.read_workers
        print(f"phantom {cols}x{rows}x{slices} voxels of {args.voxel_mm} mm, 4 time points, written to "
              f"DICOM in {time.perf_counter() - t0:.1f} s (not timed below)")
        payload["tracemalloc"] = args.tracemalloc
        results: dict[str, list[dict[str, object]]] = {"redif": []}
        if not args.skip_baseline:
            results["baseline"] = []
        moved = None
        if not args.skip_registration:
            motion = tuple(float(v) for v in args.motion_mm.split(","))
            t0 = time.perf_counter()
            moved = _write_phantom(Path(tmp) / "moved", (slices, rows, cols), args.voxel_mm,
                                   motion_mm=motion)  # type: ignore[arg-type]
            moved.update(read_workers=args.read_workers, tracemalloc=args.tracemalloc)
            print(f"phantom with the later time points moved by {motion} mm written in "
                  f"{time.perf_counter() - t0:.1f} s (not timed below)")
            results["redif (moved, none)"] = []
            results["redif+reg"] = []
        for _ in range(args.repeats):
            if "baseline" in results:
                results["baseline"].append(_run(_BASELINE, payload))
            results["redif"].append(_run(_REDIF, {**payload, "register": "none"}))
            if moved is not None:
                results["redif (moved, none)"].append(_run(_REDIF, {**moved, "register": "none"}))
                results["redif+reg"].append(_run(_REDIF, {**moved, "register": "rigid"}))
        print(f"\n{'variant':<20}{'wall s':>9}{'load':>8}{'reg':>8}{'TIA':>8}{'dose':>8}{'stats':>8}"
              f"{'CPU s':>8}{'peak MB':>10}{'heap MB':>9}")
        best = {}
        for name, runs in results.items():
            r = min(runs, key=lambda x: float(x["wall_s"]))  # type: ignore[arg-type]
            best[name] = r
            st = r["steps"]
            heap = "-" if r.get("heap_mb") is None else f"{r['heap_mb']:.0f}"
            print(f"{name:<20}{r['wall_s']:>9.2f}{st['load_s']:>8.2f}"  # type: ignore[index]
                  f"{st.get('register_s', 0.0):>8.2f}{st['tia_s']:>8.2f}"  # type: ignore[union-attr,index]
                  f"{st['dose_s']:>8.2f}{st['stats_s']:>8.2f}{r['cpu_s']:>8.2f}"  # type: ignore[index]
                  f"{r['peak_mb']:>10.0f}{heap:>9}")
        if moved is not None:
            _report_registration(best, moved)
        if "baseline" not in best:
            return
        speed = float(best["baseline"]["wall_s"]) / float(best["redif"]["wall_s"])  # type: ignore[arg-type]
        mem = float(best["baseline"]["peak_mb"]) / float(best["redif"]["peak_mb"])  # type: ignore[arg-type]
        a, b = best["redif"]["mean_gy"], best["baseline"]["mean_gy"]
        diff = max(abs(x - y) / abs(y) for x, y in zip(a, b, strict=True))  # type: ignore[call-overload]
        print(f"\nredif vs baseline: {speed:.2f}x faster, {mem:.2f}x less peak memory; "
              f"largest relative difference of lesion mean doses {diff:.2%} (weighted vs unweighted fit)")
        cpu = float(best["baseline"]["cpu_s"]) / float(best["redif"]["cpu_s"])  # type: ignore[arg-type]
        print(f"CPU time (user+sys, read workers included): baseline/redif = {cpu:.2f}x; wall times are "
              f"inflated when other processes share the cores (load average now {os.getloadavg()[0]:.1f})")
        print("goal: >= 2x faster than baseline, < 5 s, < 4096 MB")
        if not args.skip_batch:
            _batch(Path(tmp))


def _report_registration(best: dict[str, dict[str, object]], moved: dict[str, object]) -> None:
    reg = best["redif+reg"]
    print("\nregistration (rigid, Mattes MI) of the moved phantom, recovered translations (x, y, z mm):")
    for r in reg["registration"]:  # type: ignore[attr-defined]
        if not r["reference"]:
            print(f"  {r['time_point']:>5g} h  {r['translation_mm']}  rotation {r['rotation_deg']:.2f} deg  "
                  f"metric {r['metric']:.3f}  iterations {r['iterations']}")
    truth = moved["truth_tia"]
    for name in ("redif (moved, none)", "redif+reg"):
        errs = [a / t - 1 for a, t in zip(best[name]["tia_imaged"], truth, strict=True)]  # type: ignore[call-overload]
        print(f"  lesion 124I TIA vs truth, {name:<20}: " + ", ".join(f"{e:+.1%}" for e in errs))
    print(f"goal (issue 14): registered run < 15 s and < 2048 MB: wall {float(reg['wall_s']):.2f} s, "  # type: ignore[arg-type]
          f"peak {float(reg['peak_mb']):.0f} MB")  # type: ignore[arg-type]


def _batch(tmp: Path) -> None:
    from redif.workflows.voxel_batch import BatchCase, run_batch

    cases = []
    for i in range(4):
        p = _write_phantom(tmp / f"b{i}", (60, 64, 64), 4.8, seed=i)
        cases.append(BatchCase(f"case{i}", tuple(p["pet"]), str(p["seg"]), 1.0))  # type: ignore[arg-type]
    print(f"\ndose batch: {len(cases)} phantoms of 64x64x60, 4 time points each")
    ref = None
    for label, kind, workers in (("1 worker (sequential)", "sequential", 1), ("2 workers (process)",
                                                                               "process", 2)):
        t0 = time.perf_counter()
        res = run_batch(cases, executor=kind, workers=workers)
        wall = time.perf_counter() - t0
        same = "" if ref is None else f"; results identical to sequential: {res == ref}"
        ref = ref or res
        print(f"  {label:<24}{wall:>7.2f} s{same}")


if __name__ == "__main__":
    main()
