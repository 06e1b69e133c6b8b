"""The backend contract: one mixin every backend's tests inherit (like diffusers'
``PipelineTesterMixin``). A subclass names its backend and builds a small job; the mixin checks
what the studio relies on, through the same entry points the GUI, the CLI and the farm use:

* the spec is registered and its options model round-trips (model -> JSON -> model, the project
  file, the CLI flags built from it);
* bad option values and bad input are clear ``StudioError`` s (the model's message);
* streaming order: every output frame exactly once, finished frames before ``Finished``, progress
  never going back within a phase;
* determinism: the same job renders the same bytes twice;
* cancel: a render cancelled after its first frames ends ``Cancelled`` and keeps them on disk;
* resume: the next run finishes it, renders only what was missing, and gives the bytes of an
  uninterrupted render;
* close: ``close()`` releases what the backend holds (the object :meth:`held` names is freed);
* prepare: ``prepare(job)`` (what the GUI calls before Render is pressed) builds what
  ``render(job)`` then reuses, for every option set of :meth:`load_options`.

Subclass it as ``class TestMine(BackendContract)`` with :attr:`spec_name`, :meth:`make_backend`,
:meth:`make_job` and :meth:`held`; override :meth:`option_changes` / :meth:`bad_options` when the
automatic ones do not fit the model.
"""

from __future__ import annotations

import argparse
import dataclasses
import gc
import json
import weakref
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from pydantic import ValidationError

from studio.core import registry
from studio.core.backend import Backend, BackendSpec
from studio.core.cancel import CancelToken
from studio.core.errors import StudioError
from studio.core.events import Cancelled, Failed, Finished, FramesReady, Progress
from studio.core.jobs import RenderJob
from studio.core.project import Project
from studio.core.render import run_job
from studio.core.render_store import frame_filename
from studio.core.settings import RenderSettings


def frames_of(events) -> dict[int, np.ndarray]:
    """Output position -> frame of the ``FramesReady`` events."""
    out = {}
    for ev in events:
        if isinstance(ev, FramesReady):
            for k, f in zip(ev.indices, ev.frames):
                out[k] = np.array(f)
    return out


class BackendContract:
    """The contract (see the module docstring). Subclasses set :attr:`spec_name` and implement
    :meth:`make_backend`, :meth:`make_job` and :meth:`held`."""

    #: The registered backend's name.
    spec_name: str = ""
    #: Frames of the contract's jobs (enough for at least two FramesReady chunks).
    n_frames: int = 16

    # -- what a backend's tests provide ----------------------------------------------------------
    def make_backend(self) -> Backend:
        """A running backend (default: the registry's, with no weights folder)."""
        return registry.create_backend(self.spec_name)

    def make_job(self, output_dir: Path | None, **options: Any) -> RenderJob:
        """A small job of :attr:`n_frames` frames with these options, writing to ``output_dir``."""
        raise NotImplementedError

    def held(self, backend: Backend) -> Any:
        """The biggest object ``backend`` keeps after a render (its loaded model, its rig), which
        ``close()`` must release; it must support weak references."""
        raise NotImplementedError

    def option_changes(self) -> dict[str, Any]:
        """Valid non-default values for every option (derived from the model's fields)."""
        out = {}
        for f in self.spec.options.describe():
            if f.kind == "bool":
                out[f.name] = not f.default
            elif f.kind == "choice":
                out[f.name] = next(c for c in f.choices if c != f.default)
            elif f.kind == "str":
                out[f.name] = "a changed value"
            elif f.kind == "int":
                out[f.name] = int(f.minimum) if f.minimum is not None and f.minimum != f.default else f.default + 1
            else:
                out[f.name] = float(f.minimum) if f.minimum is not None and f.minimum != f.default else f.default + 0.5
        return out

    def load_options(self) -> list[dict[str, Any]]:
        """Option sets that change what the backend loads or where it places it (offload, low
        VRAM): ``prepare`` must build for each what ``render`` uses."""
        return [{}]

    def bad_options(self) -> list[dict[str, Any]]:
        """Values the model must refuse: one past each bound, an unknown choice, an unknown field."""
        bad: list[dict[str, Any]] = [{"no_such_option_xyz": 1}]
        for f in self.spec.options.describe():
            if f.kind in ("int", "float") and f.maximum is not None:
                bad.append({f.name: f.maximum + 1})
            if f.kind == "choice":
                bad.append({f.name: "no-such-choice"})
        return bad

    # -- helpers ---------------------------------------------------------------------------------
    @property
    def spec(self) -> BackendSpec:
        return registry.get_spec(self.spec_name)

    @pytest.fixture
    def backend(self):
        b = self.make_backend()
        yield b
        b.close()

    # -- the contract ----------------------------------------------------------------------------
    def test_spec_is_registered_and_describes_the_backend(self, backend):
        spec = self.spec
        assert spec.name == self.spec_name and spec.label and registry.get_spec(self.spec_name) is spec
        assert backend.name == spec.name and backend.capabilities == spec.capabilities
        assert isinstance(backend, Backend)  # load, render, close, available all present
        ok, why = backend.available()
        assert ok, why

    def test_options_round_trip(self, tmp_path):
        model = self.spec.options
        changed = model(**self.option_changes())
        assert model.model_validate_json(changed.model_dump_json()) == changed
        s = RenderSettings(backend=self.spec_name, options=changed.model_dump())
        assert s.options == changed and RenderSettings.model_validate(json.loads(s.model_dump_json())) == s
        p = Project(settings=s)
        back = Project.load(p.save(tmp_path / "p.studio.json"))
        assert back.settings == s and back.settings.fingerprint() == s.fingerprint()
        from studio.cli.options_flags import add_option_flags, option_values

        parser = argparse.ArgumentParser()
        add_option_flags(parser, (self.spec_name,))
        argv = []
        for f in model.describe():
            value = getattr(changed, f.name)
            if f.kind == "bool":
                argv.append(f"--{f.flag}" if value else f"--no-{f.flag}")
            else:
                argv += [f"--{f.flag}", str(value)]
        assert model(**option_values(parser.parse_args(argv), self.spec_name)) == changed
        what = {f.name for f in model.describe() if not f.how}
        for name in what:  # every option that changes pixels changes the cache key
            other = RenderSettings(backend=self.spec_name, **{name: getattr(changed, name)})
            assert other.fingerprint() != RenderSettings(backend=self.spec_name).fingerprint(), name

    def test_bad_option_values_are_the_models_errors(self):
        for bad in self.bad_options():
            with pytest.raises(ValidationError) as info:
                RenderSettings(backend=self.spec_name, **bad)
            assert next(iter(bad)) in str(info.value)
            ns = argparse.Namespace(backend=self.spec_name, seed=None, device=None, dtype=None, size=None,
                                    option_dests={k: k for k in bad}, **bad)
            from studio.cli.render import build_settings

            with pytest.raises(StudioError) as err:
                build_settings(RenderSettings(backend=self.spec_name), ns)
            assert next(iter(bad)).replace("_", "-") in err.value.description.replace("_", "-")

    def test_bad_input_is_a_studio_error(self, backend, tmp_path):
        empty = dataclasses.replace(self.make_job(tmp_path / "a"), frames=())
        last = list(run_job(empty, backend))[-1]
        assert isinstance(last, Failed) and isinstance(last.error, StudioError)
        from studio.core.tracks import FLAG_NO_PERSON

        job = self.make_job(tmp_path / "b")
        pose = job.pose.copy()
        pose.flags[:] |= FLAG_NO_PERSON
        last = list(run_job(dataclasses.replace(job, pose=pose), backend))[-1]
        assert isinstance(last, Failed) and "person" in last.error.title.lower()

    def test_streaming_order(self, backend, tmp_path):
        events = list(run_job(self.make_job(tmp_path / "r"), backend))
        assert isinstance(events[-1], Finished) and not any(isinstance(e, (Failed, Cancelled)) for e in events)
        ready = [k for e in events if isinstance(e, FramesReady) for k in e.indices]
        assert sorted(ready) == list(range(self.n_frames)) and len(ready) == len(set(ready))
        if self.spec.capabilities.streaming:
            assert sum(isinstance(e, FramesReady) for e in events) >= 2  # frames arrive in chunks
        last = {}
        for e in events:
            if isinstance(e, Progress):
                assert e.step >= last.get((e.phase, e.total), 0), e
                last[(e.phase, e.total)] = e.step

    def test_determinism(self, backend, tmp_path):
        a = frames_of(run_job(self.make_job(tmp_path / "a"), backend))
        fresh = self.make_backend()
        try:
            b = frames_of(run_job(self.make_job(tmp_path / "b"), fresh))
        finally:
            fresh.close()
        assert sorted(a) == sorted(b) == list(range(self.n_frames))
        assert all(a[k].tobytes() == b[k].tobytes() for k in a)

    def test_cancel_keeps_finished_frames_and_resume_finishes_them(self, backend, tmp_path):
        whole = frames_of(run_job(self.make_job(tmp_path / "whole"), backend))
        job = self.make_job(tmp_path / "r")
        token = CancelToken()
        events = []
        for ev in run_job(job, backend, None, token):
            events.append(ev)
            if isinstance(ev, FramesReady):
                token.cancel()
        last = events[-1]
        assert isinstance(last, Cancelled) and 0 < len(last.done) < self.n_frames
        on_disk = sorted(int(p.stem.split("_")[1]) for p in Path(job.output_dir).glob("frame_*.png"))
        assert on_disk == sorted(job.frames[k] for k in last.done)
        resumed = list(run_job(job, backend))
        assert isinstance(resumed[-1], Finished)
        got = frames_of(resumed)
        assert sorted(got) == list(range(self.n_frames))
        assert all(got[k].tobytes() == whole[k].tobytes() for k in got)  # as if never interrupted
        again = list(run_job(job, backend))  # all finished: nothing is rendered again
        assert not any(isinstance(e, Progress) and e.phase not in ("resume",) for e in again)
        assert all((Path(job.output_dir) / frame_filename(i)).is_file() for i in job.frames)

    def test_close_releases_what_the_backend_holds(self, tmp_path):
        backend = self.make_backend()
        backend.load()
        list(run_job(self.make_job(tmp_path / "r"), backend))
        held = self.held(backend)
        assert held is not None
        ref = weakref.ref(held)
        del held
        backend.close()
        gc.collect()
        assert ref() is None, "close() kept the backend's models alive"
        last = list(run_job(self.make_job(tmp_path / "again"), backend))[-1]  # it loads again
        assert isinstance(last, Finished)
        backend.close()

    def test_prepare_builds_what_render_reuses(self, tmp_path):
        if not callable(getattr(self.make_backend(), "prepare", None)):
            pytest.skip("the backend has no prepare(job) (optional): its first render loads")
        for i, options in enumerate(self.load_options()):
            backend = self.make_backend()
            job = self.make_job(tmp_path / f"r{i}", **options)
            backend.prepare(job)
            held = self.held(backend)
            assert held is not None, f"prepare() built nothing for {options}"
            for ev in run_job(job, backend):
                if isinstance(ev, FramesReady):
                    break
            assert self.held(backend) is held, f"the render loaded again after prepare() with {options}"
            backend.close()
