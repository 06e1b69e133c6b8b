"""bench/gpu_check.py: the one-shot GPU check, exercised on the CPU with --dry-run; and the
GPU report of ``studio doctor``."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("torch")

SCRIPT = Path(__file__).resolve().parents[2] / "bench" / "gpu_check.py"


# 15 s, and StableAnimator's compiled golden case (90-140 s from an empty inductor cache): the bench's
# whole dry run (CI's slow call runs it)
@pytest.mark.slow
def test_dry_run_prints_the_whole_summary(tmp_path):
    out = tmp_path / "summary.json"
    proc = subprocess.run([sys.executable, str(SCRIPT), "--dry-run", "--json", str(out)], capture_output=True,
                          text=True, timeout=1500)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-4000:]
    summary = json.loads(out.read_text())
    assert json.loads(proc.stdout[proc.stdout.index("{"):]) == summary
    assert summary["dry_run"] is True and summary["device"] == "cpu"
    xdyna = summary["xdyna"]
    golden = xdyna["goldens"]["a_pose_16f"]
    assert golden["float32_passed"] and xdyna["goldens"]["all_float32_passed"]
    assert golden["float32_max_diff"]["video"] <= 1e-3
    low = golden["bfloat16_max_diff_from_float32"]
    assert 0 < low["video"] < 0.5  # bf16 differs from fp32, but by rounding, not garbage
    step = xdyna["step"]
    assert step["frames"] == 17 and step["seconds_per_step"] > 0 and step["peak_allocated_gib"] > 0
    assert abs(step["prediction_error"]) <= 0.10  # the memory model agrees with the measured peak
    stream = xdyna["stream"]
    assert stream["frames"] == 48 and stream["finite"]
    assert 0 < stream["seconds_to_first_frames"] < stream["seconds_total"]
    assert stream["first_frames"] == 16

    sa = summary["stableanimator"]
    assert sa["tiny_release_matches_the_official_runs"] and sa["goldens"]["all_float32_passed"]
    assert set(sa["goldens"]) == {"a_tiles_20f", "b_odd_14f", "all_float32_passed"}
    for setting in ("resident", "offload"):
        row = sa["render"][setting]
        assert row["finite"] and row["render_seconds"] > 0 and row["peak_allocated_gib"] > 0, setting
        assert abs(row["prediction_error"]) <= 0.10, setting
    assert sa["render"]["offload"]["peak_allocated_gib"] < sa["render"]["resident"]["peak_allocated_gib"]
    compiled = sa["compile"]
    assert compiled["compile_failure"] is None and compiled["golden_passed"], compiled
    assert compiled["golden_max_diff_from_eager"]["step_latents_out"] <= 2.5e-4  # the case's noise floor
    assert "render" not in compiled  # the full-size compiled render needs a GPU

    dc = summary["dynamictrl"]
    assert dc["goldens"]["all_float32_passed"] and len(dc["goldens"]) == 3
    for profile in ("none", "model", "sequential"):
        row = dc["offload"][profile]
        assert row["peak_allocated_gib"] > 0 and abs(row["prediction_error"]) <= 0.10, profile
        assert set(row["vram_model_phases_gib"]) == {"text", "encode", "denoise", "decode"}


def test_a_failing_golden_case_fails_the_check(tmp_path, monkeypatch):
    """The exit code is the goldens' verdict: a backend whose float32 case fails makes it 1."""
    sys.path.insert(0, str(SCRIPT.parent))
    try:
        import gpu_check
        import gpu_check_dynamictrl
    finally:
        sys.path.remove(str(SCRIPT.parent))

    def failing(device, dry_run, skip):
        return {"goldens": {"a": {"float32_passed": False}, "all_float32_passed": False}}

    monkeypatch.setattr(gpu_check_dynamictrl, "run", failing)
    assert gpu_check.main(["--dry-run", "--backend", "dynamictrl", "--json", str(tmp_path / "s.json")]) == 1
    assert json.loads((tmp_path / "s.json").read_text())["dynamictrl"]["goldens"]["all_float32_passed"] is False


def test_without_cuda_it_says_so_and_exits_2():
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has a CUDA GPU")
    proc = subprocess.run([sys.executable, str(SCRIPT)], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 2
    assert "no CUDA GPU" in json.loads(proc.stdout)["error"]


def test_recommended_setting_follows_the_memory_model():
    from studio.backends.xdyna.gpu_report import GpuReport, needed_gib, recommend

    assert needed_gib("low-VRAM") < needed_gib("default") < 12
    assert recommend(24) == "default" and recommend(12) == "default"
    assert recommend(8) == "low-VRAM"
    assert recommend(4) == "too small"
    card = GpuReport(0, "Test GPU", 8.0, (8, 6), True, True, True)
    assert card.setting == "low-VRAM" and "low-VRAM" in card.line() and "8.6" in card.line()
    old = GpuReport(1, "Old GPU", 24.0, (5, 2), False, False, False)
    assert old.setting == "too small" and "NOT available" in old.line()


def test_doctor_reports_cuda_state():
    import torch

    from studio.cli.doctor import check_backend
    from studio.core import registry

    # the CUDA state and per-GPU report are X-Dyna's own doctor checks (its spec), shown in its
    # section of ``studio doctor``
    gpu = registry.get_spec("xdyna").doctor(None)
    if not torch.cuda.is_available():
        assert [(c.status, c.name) for c in gpu] == [("MISSING", "cuda")] and "CPU" in gpu[0].detail
    else:
        assert gpu and all(c.name.startswith("gpu") for c in gpu)
    section = {c.name: c.status for c in check_backend("xdyna")}
    assert all(section.get(f"xdyna: {c.name}") == c.status for c in gpu)
