"""Rendering a frame range never deletes frames outside it (issue 14, item 1).

A render from scratch (``resume=False``, the CLI's default) replaces only the frames of its job;
frames of other ranges stay on disk and stay reusable under their own keys; frames of the job
whose key no longer matches stay on disk, listed as stale, until the new render overwrites them.
"""

import dataclasses
import json
import argparse

import numpy as np
from fakes import FakeCoupled, FakeIndependent, frame_for, make_job

from studio.cli import render as cli_render
from studio.core.cancel import CancelToken
from studio.core.events import Cancelled, Finished
from studio.core.files import read_png
from studio.core.render import run_job
from studio.core.render_store import frame_filename


def _range(job, lo, hi):
    return dataclasses.replace(job, frames=tuple(range(lo, hi)))


def _manifest(folder):
    return json.loads((folder / "manifest.json").read_text())


def _on_disk(folder):
    return sorted(int(p.stem.split("_")[1]) for p in folder.glob("frame_*.png"))


def test_scratch_render_of_another_range_keeps_the_first_range(tmp_path):
    out = tmp_path / "r"
    whole = make_job(12, output_dir=out)
    first, second = _range(whole, 0, 6), _range(whole, 10, 12)
    assert isinstance(list(run_job(first, FakeIndependent(), resume=False))[-1], Finished)
    assert isinstance(list(run_job(second, FakeIndependent(), resume=False))[-1], Finished)
    assert _on_disk(out) == [0, 1, 2, 3, 4, 5, 10, 11]
    for i in (0, 5, 10, 11):
        np.testing.assert_array_equal(read_png(out / frame_filename(i)), frame_for(whole, i))
    # the first range's frames are still recorded under their keys: resuming it renders nothing
    assert _manifest(out)["frames"]["3"] == first.frame_fingerprint(3)
    be = FakeIndependent()
    assert isinstance(list(run_job(first, be))[-1], Finished)
    assert be.jobs == []


def test_resumed_render_of_another_range_keeps_the_first_range(tmp_path):
    out = tmp_path / "r"
    whole = make_job(12, output_dir=out)
    list(run_job(_range(whole, 0, 6), FakeIndependent()))
    list(run_job(_range(whole, 8, 12), FakeIndependent()))
    assert _on_disk(out) == [0, 1, 2, 3, 4, 5, 8, 9, 10, 11]


def test_coupled_backend_scratch_render_keeps_other_ranges(tmp_path):
    out = tmp_path / "r"
    whole = make_job(12, output_dir=out)
    first, second = _range(whole, 0, 6), _range(whole, 6, 12)
    list(run_job(first, FakeCoupled(), resume=False))
    list(run_job(second, FakeCoupled(), resume=False))
    assert _on_disk(out) == list(range(12))
    be = FakeCoupled()
    list(run_job(first, be))
    assert be.calls == 0  # the first job's frames are reused: same job, same key


def test_scratch_render_renders_every_frame_of_its_job_again(tmp_path):
    out = tmp_path / "r"
    job = make_job(6, output_dir=out)
    list(run_job(job, FakeIndependent()))
    be = FakeIndependent()
    assert isinstance(list(run_job(_range(job, 2, 5), be, resume=False))[-1], Finished)
    assert [j.frames for j in be.jobs] == [(2, 3, 4)]
    assert _on_disk(out) == list(range(6))


def test_changed_settings_mark_frames_stale_and_cancel_keeps_them(tmp_path):
    out = tmp_path / "r"
    old = make_job(8, output_dir=out)
    list(run_job(old, FakeIndependent()))
    new = make_job(8, seed=5, output_dir=out)
    token = CancelToken()
    evs = list(run_job(new, FakeIndependent(chunk=4, cancel_after_chunks=1), None, token, resume=False))
    assert isinstance(evs[-1], Cancelled) and evs[-1].done == (0, 1, 2, 3)
    # nothing was deleted: frames 4-7 still hold the old render, listed as stale for the new job
    assert _on_disk(out) == list(range(8))
    m = _manifest(out)
    assert m["stale"] == [4, 5, 6, 7]
    assert m["frames"]["5"] == old.frame_fingerprint(5)  # still valid for the settings that made them
    assert m["frames"]["1"] == new.frame_fingerprint(1)
    np.testing.assert_array_equal(read_png(out / frame_filename(5)), frame_for(old, 5))
    np.testing.assert_array_equal(read_png(out / frame_filename(1)), frame_for(new, 1))
    # resuming the new job renders only the stale frames, and then nothing is stale
    be = FakeIndependent()
    list(run_job(new, be))
    assert [j.frames for j in be.jobs] == [(4, 5, 6, 7)]
    assert _manifest(out)["stale"] == []


def _cli(*argv):
    parser = argparse.ArgumentParser(prog="studio")
    cli_render.register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["render", *map(str, argv)])
    return args.func(args)


def test_cli_render_of_a_second_range_keeps_the_first(tmp_path):
    """The issue's recipe: ``--frames 0:6`` then ``--frames 10:12`` into the same render folder."""
    renders = tmp_path / "P.renders"
    common = ("--sample", "--size", "64x112", "--no-progress", "--render-dir", renders)
    assert _cli(*common, "--frames", "0:6", "-o", tmp_path / "a.gif") == 0
    assert _cli(*common, "--frames", "10:12", "-o", tmp_path / "b.gif") == 0
    assert _on_disk(renders) == [0, 1, 2, 3, 4, 5, 10, 11]
