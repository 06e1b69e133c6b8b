"""The photo's face as StableAnimator's official inference reads it: detect (SCRFD), keep the
largest face, embed it (ArcFace glintr100), from the antelopev2 models in the weights folder.
Torch-free (numpy, OpenCV, onnxruntime).

The official ``inference_basic.py`` reads the photo file at its own size with ``cv2.imread``
(BGR), converts it with ``COLOR_RGB2BGR`` -- which swaps it back to RGB -- and hands that to
insightface, which takes its input for BGR. :func:`analyse_face` reproduces that: it hands the
RGB photo over unchanged, so the networks see the channel order the official inference gives
them. (The training data loader hands insightface a true BGR image; the official inference is
what the released weights are used with, and the studio matches it.)

When insightface finds no face, the official code tries facexlib's RetinaFace (weights that
facexlib downloads at run time, not part of the release) and then uses a zero embedding. The
studio goes to the zero embedding directly and says so (:attr:`FaceAnalysis.message`): the
render then keeps the pose but not the identity.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from studio.backends.stableanimator.face_detect import FaceDetection, FaceDetector, largest
from studio.backends.stableanimator.layout import FACE_FILES, face_problems

EMBEDDING_DIM = 512
DETECTOR, RECOGNISER = FACE_FILES

NO_FACE = ("No face found in the photo: StableAnimator will render the pose with a zero face embedding, "
           "so the identity of the photo will not be kept (the official code does the same). Use a photo "
           "where the face is visible and large enough.")


def providers_for(device: str) -> list:
    """onnxruntime execution providers for a torch device name: CUDA first when the device is a
    CUDA one (or ``auto``) and this onnxruntime has it (on GPU ``N`` of ``cuda:N``), then the CPU."""
    import onnxruntime

    device = str(device)
    cuda = device == "auto" or device.startswith("cuda")
    if cuda and "CUDAExecutionProvider" in onnxruntime.get_available_providers():
        index = int(device.split(":", 1)[1]) if device.startswith("cuda:") else 0
        first = ("CUDAExecutionProvider", {"device_id": index}) if index else "CUDAExecutionProvider"
        return [first, "CPUExecutionProvider"]
    return ["CPUExecutionProvider"]


@dataclass(frozen=True, eq=False)
class FaceAnalysis:
    """The face StableAnimator conditions on: the raw 512-d embedding (zeros when no face was
    found), the detection it came from (``None``: none), all faces found, and what to tell the user
    (empty when a face was found)."""

    embedding: np.ndarray
    face: FaceDetection | None
    faces: tuple[FaceDetection, ...] = ()
    message: str = ""


class FaceModels:
    """The antelopev2 detector and recogniser of a weights folder (sessions created once)."""

    def __init__(self, folder: Path | str, device: str = "cpu", detector_only: bool = False) -> None:
        from studio.core.errors import StudioError

        self.folder = Path(folder)
        problems = face_problems(self.folder)
        if problems:
            raise StudioError("StableAnimator's face models are not available", "; ".join(problems) + ".")
        providers = providers_for(device)
        self.detector = FaceDetector(self.folder / DETECTOR, providers)
        self.recogniser = None
        if not detector_only:
            from studio.backends.stableanimator.arcface import ArcFace

            self.recogniser = ArcFace(self.folder / RECOGNISER, providers)

    def detect(self, photo: np.ndarray) -> tuple[FaceDetection | None, tuple[FaceDetection, ...]]:
        """The face the embedding is taken from (the largest) and every face found in ``photo``."""
        faces = tuple(self.detector.detect(np.ascontiguousarray(photo)))
        return largest(list(faces)), faces

    def analyse(self, photo: np.ndarray) -> FaceAnalysis:
        """The face of ``photo`` (H, W, 3) uint8 RGB at its own size, as the official inference takes it."""
        face, faces = self.detect(photo)
        if face is None:
            return FaceAnalysis(np.zeros(EMBEDDING_DIM, np.float32), None, faces, NO_FACE)
        if self.recogniser is None:
            raise RuntimeError("these face models were loaded for detection only")
        embedding = self.recogniser.embed_face(np.ascontiguousarray(photo), np.asarray(face.points, np.float32))
        return FaceAnalysis(embedding, face, faces)


@lru_cache(maxsize=1)
def _detector(folder: str, device: str, stamp: tuple[float, ...]) -> FaceModels:
    return FaceModels(folder, device, detector_only=True)


def detect_for_display(photo: np.ndarray, folder: Path | str, device: str = "cpu"):
    """The detection the renderer will use on ``photo``, as a :class:`~studio.core.backend.PhotoNote`
    for the GUI and the command line (the detector is kept for the last folder asked about)."""
    from studio.core.backend import PhotoNote

    if folder is None:
        return None
    problems = face_problems(folder)
    if problems:
        return PhotoNote(message="StableAnimator cannot find the face: " + "; ".join(problems) + ".", warning=True)
    det = Path(folder) / DETECTOR
    face, faces = _detector(str(folder), device, (det.stat().st_mtime,)).detect(photo)
    if face is None:
        return PhotoNote(message=NO_FACE, warning=True)
    others = len(faces) - 1
    extra = f" ({others} smaller face{'s' if others > 1 else ''} ignored)" if others else ""
    return PhotoNote(boxes=(face.box,), points=face.points, label=f"face {face.score:.2f}",
                     message=f"StableAnimator keeps the identity of this face{extra}.")
