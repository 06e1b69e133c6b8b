"""A :class:`RenderJob` as JSON text (for the queue file) and back, without pickle.

Arrays travel as base64 ``.npy`` (``allow_pickle=False``), tracks through their own
``to_dict``/``from_dict``, settings through their validated schema, so a queue file can never
make the studio run code.
"""

from __future__ import annotations

import base64
import io
import json
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import ValidationError

from studio.core.errors import StudioError
from studio.core.jobs import RenderJob
from studio.core.settings import RenderSettings
from studio.core.tracks import FaceTrack, PoseTrack

#: Version of the encoded job; bump it when the layout changes.
JOB_FORMAT = 1


def _array(a: np.ndarray) -> str:
    buf = io.BytesIO()
    np.save(buf, np.ascontiguousarray(a), allow_pickle=False)
    return base64.b64encode(buf.getvalue()).decode("ascii")


def _path(p: Path | None) -> str | None:
    return str(p) if p is not None else None


def encode_job(job: RenderJob) -> str:
    """``job`` as JSON text (exact round trip through :func:`decode_job`)."""
    d: dict[str, Any] = {
        "format": JOB_FORMAT,
        "reference": _array(job.reference),
        "pose": job.pose.to_dict(),
        "frames": list(job.frames),
        "settings": job.settings.model_dump(mode="json"),
        "face": job.face.to_dict() if job.face is not None else None,
        "reference_pose": job.reference_pose.to_dict() if job.reference_pose is not None else None,
        "driving_video": _path(job.driving_video),
        "weights_dir": _path(job.weights_dir),
        "output_dir": _path(job.output_dir),
    }
    return json.dumps(d)


def decode_job(text: str, source: str = "the render queue") -> RenderJob:
    """Inverse of :func:`encode_job`; raises :class:`StudioError` naming ``source`` when the
    text is not a job this version can read."""
    broken = StudioError(
        "Broken render job",
        f"A job in {source} cannot be read (it was written by another version or damaged). "
        "Remove it with `studio queue cancel ID` and add it again.",
    )
    try:
        d = json.loads(text)
        if not isinstance(d, dict) or d.get("format") != JOB_FORMAT:
            raise broken
        reference = np.load(io.BytesIO(base64.b64decode(d["reference"], validate=True)), allow_pickle=False)
        settings = RenderSettings.model_validate(d["settings"])
        opt = {k: Path(d[k]) if d.get(k) else None for k in ("driving_video", "weights_dir", "output_dir")}
        return RenderJob(
            reference=reference,
            pose=PoseTrack.from_dict(d["pose"]),
            frames=tuple(int(i) for i in d["frames"]),
            settings=settings,
            face=FaceTrack.from_dict(d["face"]) if d.get("face") is not None else None,
            reference_pose=PoseTrack.from_dict(d["reference_pose"]) if d.get("reference_pose") is not None else None,
            **opt,
        )
    except StudioError as err:
        if err is broken:
            raise
        raise StudioError(broken.title, f"{broken.description} ({err.title}: {err.description})") from err
    except (ValueError, KeyError, TypeError, ValidationError) as exc:
        raise StudioError(broken.title, broken.description, repr(exc)) from exc
