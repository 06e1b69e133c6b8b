"""Hands from wrist-anchored crops: the MediaPipe hand landmark model run on a region placed
from the body, without its palm detector.

The legacy ``Hands`` solution finds a hand with its palm detector first, which misses the small,
blurred hands of full-body dance videos (the body is 500-900 px tall, a hand 20-40 px). Here the
hand region comes from the body instead, as MediaPipe Holistic does:

- :func:`roi_from_body`: a square along the forearm, centred past the wrist in the direction of
  BlazePose's hand points (or of the forearm when they are unusable), sized from the forearm
  and the hand points, rotated so that the hand points up (the orientation the landmark model
  was trained on);
- :func:`roi_from_hand`: the same kind of square around last frame's hand (tracking);
- :class:`HandLandmarkModel`: MediaPipe's ``HandLandmarkCpu`` graph on the full-resolution
  frame and a region, with its hand-presence gate opened so that the presence score comes back
  with the landmarks and the caller decides (see :func:`plausible`).

Pure geometry in pixels of the full frame; the model lives in the mediapipe wheel (nothing is
downloaded).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from studio.core.errors import StudioError

#: Crop side per forearm length, and per wrist-to-knuckle length of BlazePose's hand points.
FOREARM_SCALE = 0.9
KNUCKLE_SCALE = 3.6
#: Smallest crop side per neck-to-hips length.
TORSO_SCALE = 0.3
#: The crop centre lies this share of the crop side past the wrist, along the hand.
CENTRE_SHIFT = 0.38
#: Crop side per extent of last frame's hand landmarks (tracking).
TRACK_SCALE = 2.2
#: The model's presence score at and above which a hand is taken as sure.
SURE_PRESENCE = 0.5
_PRESENCE_STREAM = "handlandmarkcpu__hand_presence_score"


@dataclass(frozen=True)
class HandRoi:
    """A rotated square in frame pixels: centre, side, and the clockwise rotation (radians) that
    turns the hand's direction to point up."""

    cx: float
    cy: float
    size: float
    rotation: float


def _rotation_up(direction: np.ndarray) -> float:
    """The clockwise rotation that makes ``direction`` (pixels, y down) point up."""
    return math.atan2(float(direction[0]), -float(direction[1]))


def roi_from_body(wrist: np.ndarray, knuckles: np.ndarray, elbow: np.ndarray | None, frame_long_side: int,
                  torso: float = 0.0) -> HandRoi | None:
    """The hand region of one arm from BlazePose points (pixels).

    ``knuckles`` is the mean of BlazePose's index and pinky points of that hand; ``elbow`` may be
    ``None`` (not visible); ``torso`` is the neck-to-hips length in pixels (0 if unknown), which
    bounds the crop from below (a hand is about a third of it). The hand's direction is
    wrist -> knuckles, or the forearm's when the hand points are too close to the wrist to give
    one. ``None`` when no direction is known.
    """
    wrist = np.asarray(wrist, np.float64)
    hand = np.asarray(knuckles, np.float64) - wrist
    span = float(np.hypot(*hand))
    fore = wrist - np.asarray(elbow, np.float64) if elbow is not None else np.zeros(2)
    forearm = float(np.hypot(*fore))
    if span > 2.0:
        direction = hand / span
    elif forearm > 2.0:
        direction = fore / forearm
    else:
        return None
    size = max(KNUCKLE_SCALE * span, FOREARM_SCALE * forearm, TORSO_SCALE * torso, 0.03 * frame_long_side, 16.0)
    centre = wrist + direction * size * CENTRE_SHIFT
    return HandRoi(float(centre[0]), float(centre[1]), size, _rotation_up(direction))


def roi_from_hand(points: np.ndarray) -> HandRoi | None:
    """The region around last frame's 21 hand landmarks (pixels): centred on their extent,
    :data:`TRACK_SCALE` times its larger side, pointing wrist -> middle-finger knuckle."""
    pts = np.asarray(points, np.float64)
    if pts.shape != (21, 2) or not np.isfinite(pts).all():
        return None
    up = pts[9] - pts[0]
    length = float(np.hypot(*up))
    extent = float(max(np.ptp(pts[:, 0]), np.ptp(pts[:, 1])))
    if length < 1.0 or extent < 2.0:
        return None
    centre = 0.5 * (pts.min(axis=0) + pts.max(axis=0))
    return HandRoi(float(centre[0]), float(centre[1]), TRACK_SCALE * extent, _rotation_up(up / length))


def plausible(points: np.ndarray, roi: HandRoi, wrist: np.ndarray) -> bool:
    """Whether landmarks found in ``roi`` can be this arm's hand: the hand's wrist lies near
    BlazePose's wrist (within 0.45 crop sides) and the hand's extent is 8-120% of the crop side."""
    pts = np.asarray(points, np.float64)
    if pts.shape != (21, 2) or not np.isfinite(pts).all():
        return False
    extent = float(max(np.ptp(pts[:, 0]), np.ptp(pts[:, 1])))
    near = float(np.hypot(*(pts[0] - np.asarray(wrist, np.float64)))) <= 0.45 * roi.size
    return near and 0.08 * roi.size <= extent <= 1.2 * roi.size


def hand_confidence(presence: float) -> float:
    """The confidence stored for a plausible hand with the model's ``presence`` score: from 0.35
    (drawn, flagged as low confidence) to 1.0 (sure)."""
    return float(0.35 + 0.65 * min(1.0, max(0.0, presence)))


class HandLandmarkModel:
    """MediaPipe's hand landmark model on a region of a full frame.

    ``model_complexity`` 0 is the lite model (fast), 1 the full one. :meth:`run` returns the 21
    landmarks in frame pixels and the model's hand-presence score (0..1), whatever the score. The
    graph keeps no state between frames (tracking is the caller's: :func:`roi_from_hand`).
    """

    def __init__(self, model_complexity: int = 0) -> None:
        from google.protobuf import text_format
        from mediapipe.framework import calculator_pb2
        from mediapipe.python._framework_bindings import validated_graph_config
        from mediapipe.python.solution_base import SolutionBase

        from studio.extract.mp_runtime import install_quiet_graphs

        install_quiet_graphs()  # native log lines of the graph kept off the terminal

        outer = text_format.Parse(
            'input_stream: "IMAGE:image" input_stream: "ROI:roi" output_stream: "LANDMARKS:landmarks" '
            'input_side_packet: "MODEL_COMPLEXITY:model_complexity" '
            'node { calculator: "HandLandmarkCpu" input_stream: "IMAGE:image" input_stream: "ROI:roi" '
            'input_side_packet: "MODEL_COMPLEXITY:model_complexity" output_stream: "LANDMARKS:landmarks" }',
            calculator_pb2.CalculatorGraphConfig(),
        )
        graph = validated_graph_config.ValidatedGraphConfig()
        graph.initialize(graph_config=outer)
        config = calculator_pb2.CalculatorGraphConfig()
        config.ParseFromString(graph.binary_config)
        gates = [n for n in config.node if n.calculator == "ThresholdingCalculator"
                 and any(s.endswith(_PRESENCE_STREAM) for s in n.input_stream)]
        if len(gates) != 1:
            raise StudioError(
                "Unsupported mediapipe version",
                "The hand landmark graph of this mediapipe build has no hand-presence gate where "
                "the studio expects one. Install the pinned version: pip install mediapipe==0.10.21",
            )
        opts = gates[0].options.Extensions[_thresholding_ext()]
        opts.threshold = 0.0  # let every result through; plausible() and the score decide
        config.output_stream.append(f"SCORE:{_PRESENCE_STREAM}")
        self._graph = SolutionBase(graph_config=config, outputs=["landmarks", _PRESENCE_STREAM],
                                   side_inputs={"model_complexity": int(model_complexity)})

    def run(self, frame: np.ndarray, roi: HandRoi) -> tuple[np.ndarray, float] | None:
        """Landmarks ``(21, 2)`` in pixels of ``frame`` and the presence score, or ``None``."""
        from mediapipe.framework.formats import rect_pb2

        h, w = frame.shape[:2]
        rect = rect_pb2.NormalizedRect(x_center=roi.cx / w, y_center=roi.cy / h, width=roi.size / w,
                                       height=roi.size / h, rotation=roi.rotation)
        out: Any = self._graph.process({"image": frame, "roi": rect})
        if out.landmarks is None:
            return None
        pts = np.array([(p.x * w, p.y * h) for p in out.landmarks.landmark], np.float32)
        score = getattr(out, _PRESENCE_STREAM)
        return pts, float(score) if score is not None else 0.0

    def close(self) -> None:
        """Release the graph."""
        self._graph.close()


def _thresholding_ext() -> Any:
    from mediapipe.calculators.util import thresholding_calculator_pb2

    return thresholding_calculator_pb2.ThresholdingCalculatorOptions.ext
