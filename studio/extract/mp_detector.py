"""A :class:`~studio.extract.detector.PoseDetector` built on the legacy MediaPipe solutions.

BlazePose (33 landmarks, complexity 1) runs on the frame downscaled for speed. Hands and face
run on regions placed from the body landmarks. Each hand: the hand landmark model runs every
frame on a wrist-anchored square that follows the forearm (or last frame's hand while it is
tracked), on the full-resolution frame (:mod:`studio.extract.hand_crop`); when that finds no
plausible hand, MediaPipe Hands with its palm detector re-runs inside a crop around the wrist.
The face crop follows the head points and FaceMesh tracks inside it. The models ship inside the
mediapipe wheel; nothing is downloaded.
"""

from __future__ import annotations

import os
from contextlib import ExitStack
from dataclasses import dataclass
from typing import Any

import numpy as np

from studio.core.errors import StudioError
from studio.core.native_logs import quiet_native_logs
from studio.core.tracks import N_HAND
from studio.extract.detector import FrameDetection
from studio.extract.frame_crops import check_frame, crop_square, crop_to_frame
from studio.extract.hand_crop import (
    SURE_PRESENCE, HandLandmarkModel, hand_confidence, plausible, roi_from_body, roi_from_hand,
)
from studio.extract.layout import (
    BP_L_EAR, BP_L_EYE, BP_L_HIP, BP_L_SHOULDER, BP_NOSE, BP_R_EAR, BP_R_EYE, BP_R_HIP, BP_R_SHOULDER,
    HAND_ANCHORS, N_BLAZEPOSE, face_anchors_from_facemesh, openpose18_from_blazepose,
)

__all__ = ["BodyStage", "MediaPipeDetector", "check_frame", "crop_square", "crop_to_frame"]

os.environ.setdefault("GLOG_minloglevel", "2")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

_ELBOWS = (13, 14)  # BlazePose left/right elbow


def _import_mediapipe() -> Any:
    try:
        import cv2  # noqa: F401  (mediapipe needs it; checked here for a clear message)

        from studio.extract.mp_runtime import import_mediapipe

        mp = import_mediapipe()  # its native log lines kept off the terminal
    except ImportError as exc:  # pragma: no cover - depends on the installation
        raise StudioError(
            "Pose detection is not available",
            "The 'mediapipe' package (0.10.21) could not be imported. Reinstall the studio "
            "with its dependencies: pip install -e .",
            repr(exc),
        ) from exc
    return mp


@dataclass
class BodyStage:
    """The result of :meth:`MediaPipeDetector.detect_body`: the frame and its BlazePose points.

    ``points`` is ``(33, 2)`` normalised (``None`` when nobody was found), ``visibility`` ``(33,)``.
    """

    frame: np.ndarray
    frame_no: int
    points: np.ndarray | None
    visibility: np.ndarray


class MediaPipeDetector:
    """BlazePose body + MediaPipe Hands + FaceMesh, one person per frame.

    Parameters
    ----------
    static_image_mode:
        ``True`` for unrelated images (every model detects from scratch); ``False`` for video,
        where the models track from frame to frame.
    model_complexity:
        BlazePose complexity (0, 1 or 2); 1 is the default the X-Dyna studio was tuned for.
    hands, face:
        Whether to run the hand and face models.
    pose_max_side:
        The frame is downscaled so that its longer side is at most this many pixels before the
        body model sees it (the model itself works at 256 px).
    hand_crop, face_crop:
        The side in pixels of the crops handed to the hand and face models.
    min_confidence:
        Detection and tracking confidence thresholds of the MediaPipe models.
    hand_retry:
        In video mode, after the palm detector found nothing it is retried only on every
        ``hand_retry``-th frame (the wrist-anchored landmark model still runs on every frame).
    min_hand_presence:
        The lowest hand-presence score of the landmark model at which a plausible hand (wrist
        at the arm's wrist, a hand-sized extent) is kept; below
        :data:`~studio.extract.hand_crop.SURE_PRESENCE` the hand is kept with a low confidence
        (the official DWPose maps draw a hand wherever the wrist is seen, and the landmark
        model places blurred hands well even when it doubts them).
    min_wrist_visibility:
        BlazePose's visibility a wrist needs for its hand to be looked for.
    count_people_every:
        Every this many frames (and whenever the body is found again after a frame without
        one) a full-range face detector counts the faces on the (downscaled) frame; more than
        one marks the following frames as having several people (``n_people > 1``). 0 disables
        counting. Static image mode counts on every image.
    """

    def __init__(
        self,
        *,
        static_image_mode: bool = False,
        model_complexity: int = 1,
        hands: bool = True,
        face: bool = True,
        pose_max_side: int = 512,
        hand_crop: int = 160,
        face_crop: int = 192,
        min_confidence: float = 0.5,
        hand_retry: int = 3,
        count_people_every: int = 10,
        min_hand_presence: float = 0.0,
        min_wrist_visibility: float = 0.1,
    ) -> None:
        if model_complexity not in (0, 1, 2):
            raise StudioError(
                "Invalid pose model complexity",
                f"model_complexity is {model_complexity!r}; use 0, 1 or 2.",
            )
        from studio.core.phases import mark

        mp = _import_mediapipe()
        mark("mediapipe imported")
        # the graphs' native threads log while they start and first see frames: keep those lines
        # off the terminal for the detector's whole life (studio.core.native_logs)
        self._quiet = ExitStack()
        self._quiet.enter_context(quiet_native_logs())
        self.static_image_mode = static_image_mode
        self.pose_max_side = int(pose_max_side)
        self.hand_crop = int(hand_crop)
        self.face_crop = int(face_crop)
        self._mp = mp
        self._pose = mp.solutions.pose.Pose(
            static_image_mode=static_image_mode,
            model_complexity=model_complexity,
            smooth_landmarks=False,  # our own One-Euro filter smooths (raw kept)
            min_detection_confidence=min_confidence,
            min_tracking_confidence=min_confidence,
        )
        # One hand model per side so each tracks inside its own moving crop.
        self._hands = (
            [
                mp.solutions.hands.Hands(
                    static_image_mode=static_image_mode,
                    max_num_hands=1,
                    model_complexity=0 if not static_image_mode else 1,
                    min_detection_confidence=min_confidence,
                    min_tracking_confidence=min_confidence,
                )
                for _ in range(2)
            ]
            if hands
            else []
        )
        # the lite landmark model for video (fast), the full one for single photos
        self._hand_model = HandLandmarkModel(1 if static_image_mode else 0) if hands else None
        self._hand_track: list[np.ndarray | None] = [None, None]
        self.min_hand_presence = float(min_hand_presence)
        self.min_wrist_visibility = float(min_wrist_visibility)
        self.hand_retry = max(1, int(hand_retry))
        self.count_people_every = max(0, int(count_people_every))
        self._frame_no = 0
        self._hand_lost_at = [-(10**9), -(10**9)]
        self._people = 1
        self._recount = True
        self._counter = (
            mp.solutions.face_detection.FaceDetection(model_selection=1, min_detection_confidence=0.6)
            if self.count_people_every or static_image_mode
            else None
        )
        self._face = (
            mp.solutions.face_mesh.FaceMesh(
                static_image_mode=static_image_mode,
                max_num_faces=1,
                refine_landmarks=False,
                min_detection_confidence=min_confidence,
                min_tracking_confidence=min_confidence,
            )
            if face
            else None
        )
        mark("pose graphs built")

    # -- protocol ---------------------------------------------------------------------------

    def detect(self, frame_rgb: np.ndarray, timestamp: float = 0.0) -> FrameDetection:
        """Detect one person's body, hands and face on an ``(H, W, 3)`` uint8 RGB frame."""
        return self.detect_details(self.detect_body(frame_rgb, timestamp))

    # -- two stages (the extractor overlaps stage 1 of frame i with stage 2 of frame i-1) ---

    def detect_body(self, frame_rgb: np.ndarray, timestamp: float = 0.0) -> BodyStage:
        """Stage 1: the body model on one frame. Touches only the body model's state."""
        frame = check_frame(frame_rgb)
        frame_no = self._frame_no
        self._frame_no += 1
        pts, vis = self._detect_body(frame)
        return BodyStage(frame, frame_no, pts, vis)

    def detect_details(self, stage: BodyStage) -> FrameDetection:
        """Stage 2: people count, hands and face placed from the stage-1 body.

        Must be called in frame order; touches only the hand, face and counting models' state.
        """
        frame, frame_no, pts, vis = stage.frame, stage.frame_no, stage.points, stage.visibility
        h, w = frame.shape[:2]
        det = FrameDetection()
        if pts is None:
            self._recount = True  # recount when somebody is found again
            return det
        det.n_people = self._count_people(frame, frame_no)
        det.body, det.body_conf = openpose18_from_blazepose(pts, vis)
        px = pts * np.array([w, h], np.float32)  # BlazePose landmarks in pixels
        for side, model in enumerate(self._hands):
            found = self._hand_from_crop(frame, px, vis, side)
            if found is None:  # tracking lost: the palm detector re-runs inside the crop
                lost_for = frame_no - self._hand_lost_at[side]
                if not self.static_image_mode and 0 < lost_for < self.hand_retry:
                    continue  # it found nothing lately: retried a few frames later
                found = self._detect_hand(frame, model, px, vis, side)
                if found is None:
                    self._hand_lost_at[side] = frame_no
            if found is not None:
                det.hands[side], det.hands_conf[side] = found
        if self._face is not None:
            found_face = self._detect_face(frame, px, vis)
            if found_face is not None:
                det.face_box, det.left_eye, det.right_eye, det.mouth, det.face_conf = found_face
        return det

    def reset(self) -> None:
        """Drop tracking state (called at shot cuts)."""
        self._hand_lost_at = [-(10**9), -(10**9)]
        self._hand_track = [None, None]
        self._people = 1
        self._recount = True
        self._frame_no = 0
        for model in (self._pose, *self._hands, self._face, self._counter):
            if model is not None:
                model.reset()

    def close(self) -> None:
        """Release the MediaPipe graphs."""
        for model in (self._pose, *self._hands, self._face, self._counter, self._hand_model):
            if model is not None:
                model.close()
        self._hands = []
        self._hand_model = None
        self._face = None
        self._counter = None
        self._quiet.close()

    def __enter__(self) -> "MediaPipeDetector":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- parts ------------------------------------------------------------------------------

    def _detect_body(self, frame: np.ndarray) -> tuple[np.ndarray | None, np.ndarray]:
        import cv2

        h, w = frame.shape[:2]
        scale = min(1.0, self.pose_max_side / max(h, w))
        small = frame
        if scale < 1.0:
            small = cv2.resize(frame, (max(1, round(w * scale)), max(1, round(h * scale))),
                               interpolation=cv2.INTER_AREA)
        res = self._pose.process(small)
        if res.pose_landmarks is None:
            return None, np.zeros(N_BLAZEPOSE, np.float32)
        lm = res.pose_landmarks.landmark
        pts = np.array([(p.x, p.y) for p in lm], np.float32)
        vis = np.clip(np.array([p.visibility for p in lm], np.float32), 0.0, 1.0)
        return pts, vis

    def _count_people(self, frame: np.ndarray, frame_no: int) -> int:
        """How many people are on the frame (re-counted every ``count_people_every`` frames)."""
        import cv2

        if self._counter is None:
            return 1
        due = frame_no % max(1, self.count_people_every) == 0
        if self.static_image_mode or due or self._recount:
            self._recount = False
            h, w = frame.shape[:2]
            scale = min(1.0, 320.0 / max(h, w))
            small = cv2.resize(frame, (max(1, round(w * scale)), max(1, round(h * scale))),
                               interpolation=cv2.INTER_AREA) if scale < 1.0 else frame
            res = self._counter.process(small)
            self._people = max(1, len(res.detections or []))
        return self._people

    def _hand_from_crop(self, frame: np.ndarray, px: np.ndarray, vis: np.ndarray, side: int
                        ) -> tuple[np.ndarray, np.ndarray] | None:
        """The hand landmark model on the wrist-anchored crop (or around last frame's hand while
        it is tracked); ``None`` when the wrist is not visible or no plausible hand is there."""
        wrist_i, pinky_i, index_i, _ = HAND_ANCHORS[side]
        track = self._hand_track[side]
        self._hand_track[side] = None
        if self._hand_model is None or vis[wrist_i] < self.min_wrist_visibility:
            return None
        h, w = frame.shape[:2]
        elbow = px[_ELBOWS[side]] if vis[_ELBOWS[side]] >= 0.3 else None
        neck = 0.5 * (px[BP_L_SHOULDER] + px[BP_R_SHOULDER])
        torso = float(np.hypot(*(0.5 * (px[BP_L_HIP] + px[BP_R_HIP]) - neck)))
        from_body = roi_from_body(px[wrist_i], 0.5 * (px[pinky_i] + px[index_i]), elbow, max(h, w), torso)
        rois = [r for r in ((roi_from_hand(track) if track is not None else None), from_body) if r is not None]
        for roi in rois:
            found = self._hand_model.run(frame, roi)
            if found is None:
                continue
            pts, presence = found
            if presence < self.min_hand_presence or not plausible(pts, roi, px[wrist_i]):
                continue
            if presence >= SURE_PRESENCE and not self.static_image_mode:
                self._hand_track[side] = pts
            norm = pts / np.array([w, h], np.float32)
            return norm.astype(np.float32), np.full(N_HAND, hand_confidence(presence), np.float32)
        return None

    def _detect_hand(self, frame: np.ndarray, model: Any, px: np.ndarray, vis: np.ndarray,
                     side: int) -> tuple[np.ndarray, np.ndarray] | None:
        wrist_i, pinky_i, index_i, thumb_i = HAND_ANCHORS[side]
        if vis[wrist_i] < 0.3:
            return None
        h, w = frame.shape[:2]
        wrist = px[wrist_i]
        knuckles = 0.5 * (px[pinky_i] + px[index_i])
        span = float(np.linalg.norm(knuckles - wrist))
        forearm = float(np.linalg.norm(px[_ELBOWS[side]] - wrist))
        size = max(4.0 * span, 0.9 * forearm, 0.04 * max(h, w), 24.0)
        centre = wrist + 0.9 * (knuckles - wrist)
        crop = crop_square(frame, float(centre[0]), float(centre[1]), size, self.hand_crop)
        res = model.process(crop)
        if not res.multi_hand_landmarks:
            return None
        lm = res.multi_hand_landmarks[0].landmark
        local = np.array([(p.x, p.y) for p in lm], np.float32)
        pts = crop_to_frame(local, float(centre[0]), float(centre[1]), size)
        if np.linalg.norm(pts[0] - wrist) > 0.5 * size:  # a different hand than this arm's
            return None
        score = float(res.multi_handedness[0].classification[0].score)
        norm = pts / np.array([w, h], np.float32)
        return norm.astype(np.float32), np.full(N_HAND, score, np.float32)

    def _detect_face(self, frame: np.ndarray, px: np.ndarray, vis: np.ndarray
                     ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, float] | None:
        head_idx = [BP_NOSE, BP_L_EYE, BP_R_EYE, BP_L_EAR, BP_R_EAR]
        if vis[BP_NOSE] < 0.3:
            return None
        h, w = frame.shape[:2]
        head = px[head_idx]
        centre = head.mean(axis=0)
        face_w = float(np.ptp(head[:, 0]))
        shoulders = float(np.linalg.norm(px[BP_L_SHOULDER] - px[BP_R_SHOULDER]))
        size = max(2.6 * face_w, 0.7 * shoulders, 0.05 * max(h, w), 32.0)
        crop = crop_square(frame, float(centre[0]), float(centre[1]), size, self.face_crop)
        res = self._face.process(crop)
        if not res.multi_face_landmarks:
            return None
        lm = res.multi_face_landmarks[0].landmark
        local = np.array([(p.x, p.y) for p in lm], np.float32)
        pts = crop_to_frame(local, float(centre[0]), float(centre[1]), size)
        box, le, re, mouth = face_anchors_from_facemesh(pts)
        scale = np.array([w, h], np.float32)
        box = box / np.tile(scale, 2)
        return box.astype(np.float32), le / scale, re / scale, mouth / scale, 1.0
