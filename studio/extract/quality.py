"""Pose quality per frame: what the timeline's quality strip, the problem-frame keys and the
driving panel's extraction summary show (no Qt).

Read from the cleaned tracks (what the renderers use), per frame:

- person: found, filled in from neighbouring frames, or missing;
- each hand: found, filled (``FLAG_LEFT_HAND_FILLED`` / ``FLAG_RIGHT_HAND_FILLED``, or the whole
  person filled) or missing;
- face: found, filled or missing (and what the S-Face ControlNet gets there, :func:`sface_note`);
- low confidence: the body's core joints (neck, shoulders, hips) average below
  :data:`LOW_BODY_CONF`, or a hand was kept with a low presence score (below
  :data:`LOW_HAND_CONF`, see :func:`studio.extract.hand_crop.hand_confidence`).

A *problem frame* (the keys jump between them) has no person, a low-confidence body, a missing
face (in a clip whose face track has faces at all), or a missing hand whose wrist is visible (in
a clip whose track has hands at all). Low-confidence hands are shown on the strip but are not problems by
themselves: on blurred dance footage many hands are, and they are usually placed well.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

from studio.core.tracks import FLAG_HAND_FILLED, FLAG_INTERPOLATED, FaceTrack, PoseTrack

FOUND, FILLED, MISSING = 0, 1, 2
STATE_NAMES = ("found", "filled", "missing")
#: Mean confidence of the core joints below which a body counts as low-confidence.
LOW_BODY_CONF = 0.5
#: Hand confidence below which a hand counts as low-confidence (a presence score under ~0.4).
LOW_HAND_CONF = 0.6
_CORE = [1, 2, 5, 8, 11]
#: Confidence above which a wrist counts as visible (its hand is expected).
WRIST_VISIBLE = 0.3
HAND_NAMES = ("left hand", "right hand")


@dataclass(frozen=True)
class PoseQuality:
    """Per-frame quality of a clip's tracks.

    Attributes
    ----------
    person, face: ``(N,)`` uint8 state codes (:data:`FOUND`, :data:`FILLED`, :data:`MISSING`).
    hands: ``(N, 2)`` uint8 state codes, hand 0 = left.
    low_body, low_hands: ``(N,)`` bool low-confidence marks.
    hand_expected: ``(N, 2)`` bool, the hand's wrist is visible and the track has hands at all
        (a hand missing there is a problem).
    face_expected: whether the clip's face track has a face on any frame.
    """

    person: np.ndarray
    hands: np.ndarray
    face: np.ndarray
    low_body: np.ndarray
    low_hands: np.ndarray
    hand_expected: np.ndarray
    face_expected: bool = True

    def __len__(self) -> int:
        return int(len(self.person))

    @property
    def problems(self) -> np.ndarray:
        """``(N,)`` bool: frames with no person, a missing face, a low-confidence body, or a
        missing hand whose wrist is visible."""
        missing_hand = ((self.hands == MISSING) & self.hand_expected).any(axis=1)
        missing_face = (self.face == MISSING) & self.face_expected & (self.person != MISSING)
        return (self.person == MISSING) | missing_hand | missing_face | self.low_body

    def next_problem(self, i: int) -> int | None:
        """The first problem frame after ``i`` (``None`` when there is none)."""
        idx = np.flatnonzero(self.problems[i + 1:])
        return int(i + 1 + idx[0]) if len(idx) else None

    def previous_problem(self, i: int) -> int | None:
        """The last problem frame before ``i`` (``None`` when there is none)."""
        idx = np.flatnonzero(self.problems[:max(0, i)])
        return int(idx[-1]) if len(idx) else None

    def counts(self) -> dict[str, int]:
        """Frame counts for the extraction summary (the same numbers the strip shows)."""
        return {
            "frames": len(self),
            "no person": int(np.count_nonzero(self.person == MISSING)),
            "person filled": int(np.count_nonzero(self.person == FILLED)),
            "left hand found": int(np.count_nonzero(self.hands[:, 0] == FOUND)),
            "left hand filled": int(np.count_nonzero(self.hands[:, 0] == FILLED)),
            "left hand missing": int(np.count_nonzero(self.hands[:, 0] == MISSING)),
            "right hand found": int(np.count_nonzero(self.hands[:, 1] == FOUND)),
            "right hand filled": int(np.count_nonzero(self.hands[:, 1] == FILLED)),
            "right hand missing": int(np.count_nonzero(self.hands[:, 1] == MISSING)),
            "face found": int(np.count_nonzero(self.face == FOUND)),
            "face filled": int(np.count_nonzero(self.face == FILLED)),
            "face missing": int(np.count_nonzero(self.face == MISSING)),
            "low confidence": int(np.count_nonzero(self.low_body | self.low_hands)),
            "problem frames": int(np.count_nonzero(self.problems)),
        }

    def summary(self) -> str:
        """One line for the driving panel, e.g. ``hands L 150+6 filled, R 156 · face 120/160 ...``."""
        c = self.counts()
        n = c["frames"]
        parts = [f"person on {n - c['no person']}/{n}"]
        for side, key in (("L", "left hand"), ("R", "right hand")):
            fill = f" (+{c[key + ' filled']} filled)" if c[key + " filled"] else ""
            parts.append(f"hand {side} {c[key + ' found']}/{n}{fill}")
        fill = f" (+{c['face filled']} filled)" if c["face filled"] else ""
        parts.append(f"face {c['face found']}/{n}{fill}")
        if c["low confidence"]:
            parts.append(f"low confidence {c['low confidence']}")
        parts.append(f"{c['problem frames']} problem frame{'s' if c['problem frames'] != 1 else ''}")
        return " · ".join(parts)

    def describe(self, i: int) -> str:
        """The quality of frame ``i`` in words (the strip's tooltip)."""
        bits = [f"person {STATE_NAMES[self.person[i]]}"]
        bits += [f"{HAND_NAMES[s]} {STATE_NAMES[self.hands[i, s]]}" for s in range(2)]
        bits.append(f"face {STATE_NAMES[self.face[i]]}")
        if self.low_body[i]:
            bits.append("body low confidence")
        if self.low_hands[i]:
            bits.append("hand low confidence")
        return ", ".join(bits)


def pose_quality(pose: PoseTrack, face: FaceTrack | None = None) -> PoseQuality:
    """The per-frame quality of cleaned ``pose`` / ``face`` tracks (``face`` ``None``: all missing)."""
    n = len(pose)
    person = np.full(n, FOUND, np.uint8)
    has_body = (pose.body_conf > 0).any(axis=1) & pose.has_person()
    hand_bits = np.uint16(FLAG_HAND_FILLED[0] | FLAG_HAND_FILLED[1])
    body_filled = ((pose.flags & FLAG_INTERPOLATED) != 0) & ((pose.flags & hand_bits) == 0)
    person[body_filled] = FILLED  # the whole person filled in (see fill_pose_gaps)
    person[~has_body] = MISSING
    hands = np.full((n, 2), FOUND, np.uint8)
    for s in range(2):
        present = (pose.hands_conf[:, s] > 0).any(axis=1)
        hands[((pose.flags & FLAG_HAND_FILLED[s]) != 0) | (body_filled & present), s] = FILLED
        hands[~present, s] = MISSING
    core = pose.body_conf[:, _CORE]
    low_body = has_body & (core.mean(axis=1) < LOW_BODY_CONF)
    hand_conf = np.where(pose.hands_conf > 0, pose.hands_conf, np.nan)
    with warnings.catch_warnings():  # frames without hands give all-NaN rows
        warnings.simplefilter("ignore", RuntimeWarning)
        lowest = np.nanmin(np.nanmean(hand_conf, axis=2), axis=1) if n else np.zeros(0)
    low_hands = np.isfinite(lowest) & (lowest < LOW_HAND_CONF)
    face_state = np.full(n, MISSING, np.uint8)
    if face is not None and len(face) == n:
        has = face.has_face()
        face_state[has] = FOUND
        face_state[has & ((face.flags & FLAG_INTERPOLATED) != 0)] = FILLED
    wrists = pose.body_conf[:, [7, 4]] > WRIST_VISIBLE  # hand 0 = left follows the left wrist
    expected = wrists & bool((pose.hands_conf > 0).any())
    return PoseQuality(person, hands, face_state, low_body, low_hands, expected,
                       bool((face_state != MISSING).any()))


def sface_note(quality: PoseQuality, i: int, face_controlnet: bool = True,
               off_reason: str = "the S-Face ControlNet is off") -> str:
    """What the S-Face ControlNet gets on frame ``i``, in words ("" when the face was found);
    ``off_reason`` as in :func:`sface_coverage`."""
    if not 0 <= i < len(quality) or quality.face[i] == FOUND:
        return ""
    if not face_controlnet:
        return f"No face found on frame {i} ({off_reason})"
    if quality.face[i] == FILLED:
        return (f"Face filled in on frame {i}: the S-Face ControlNet gets the face region "
                "interpolated from the neighbouring frames")
    return (f"No face on frame {i}: the S-Face ControlNet gets black images here, "
            "so this frame is rendered without face guidance")


def sface_coverage(quality: PoseQuality, face_controlnet: bool = True, face_track: bool = True,
                   off_reason: str = "the S-Face ControlNet is off") -> str:
    """The clip's face coverage and what the S-Face ControlNet gets, in one sentence.

    A frame has a usable face when the face was found or filled in from neighbouring frames
    (``FaceTrack.has_face``): there the S-Face images are drawn from its landmarks. On every
    other frame :func:`studio.extract.sface.sface_for_frame` hands the ControlNet black (all-zero)
    local and global images, so that frame gets no face guidance. ``face_track=False``: the clip
    was extracted without faces, and X-Dyna renders without the S-Face ControlNet.
    ``off_reason`` says why no frame gets face guidance when ``face_controlnet`` is false (the
    ControlNet switched off, or a renderer that does not use the driving face at all).
    """
    n = len(quality)
    if n == 0:
        return ""
    if not face_track:
        return "S-Face: no face track (extracted without faces), so the S-Face ControlNet is not used"
    usable = int(np.count_nonzero(quality.face != MISSING))
    filled = int(np.count_nonzero(quality.face == FILLED))
    fill = f", {filled} of them filled in from neighbouring frames" if filled else ""
    head = f"S-Face: a usable face on {usable}/{n} frames ({100.0 * usable / n:.0f}%{fill})"
    if not face_controlnet:
        return f"{head}; {off_reason}, so no frame gets face guidance"
    if usable == n:
        return f"{head}; the S-Face ControlNet gets the face on every frame"
    if usable == 0:
        return (f"{head}: the S-Face ControlNet gets only black images, so it costs time but guides no "
                "frame (switch it off in the render settings)")
    return (f"{head}; on the other {n - usable} the S-Face ControlNet gets black images, so those frames "
            "are rendered without face guidance")
