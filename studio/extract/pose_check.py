"""Sanity check of a reference photo's detected pose (pure numpy, no Qt).

A detector can return a pose that is not a person's: both arms on one side of the body, the two
legs on one line, a limb of zero length, a torso folded onto the shoulders. Retargeting such a
pose gives the dancer that broken body, so the GUI and the CLI run :func:`check_reference_pose`
on the photo's pose, say what is wrong (each :class:`PoseProblem` is a sentence a person can act
on), and switch retargeting off for that photo until the pose is fixed or the user turns it on.

The rules only flag what a person cannot look like in a photo, so a normal photo passes whatever
the stance (walking with crossed legs, a three-quarter view, a portrait whose legs are outside
the frame, a profile whose legs overlap):

- **confidence**: a shoulder inside the photo, or a hip above a clearly seen knee, that the
  detector is unsure of;
- **outside**: the head or the shoulders outside the photo;
- **left/right order**: the shoulders and the hips ordered the opposite way across the body;
- **arms on one side**: an arm (elbow and wrist) beyond the *other* shoulder while the other
  arm is on its own side, or both arms on the same points;
- **collapsed**: both knees and both ankles on the same points while the hips are apart (the
  legs on one line), the hips on one point while the shoulders are wide, a limb of no length;
- **proportions**: a limb far longer than a person's relative to the torso, or a torso much
  shorter than the shoulders are wide.

All measures are relative to the body's own size, so the check does not depend on the photo's
resolution.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from studio.core.tracks import PoseTrack

NOSE, NECK = 0, 1
R_SHOULDER, R_ELBOW, R_WRIST = 2, 3, 4
L_SHOULDER, L_ELBOW, L_WRIST = 5, 6, 7
R_HIP, R_KNEE, R_ANKLE = 8, 9, 10
L_HIP, L_KNEE, L_ANKLE = 11, 12, 13

#: Confidence a point needs to be measured at all, and the one the key joints need.
MEASURE_CONF = 0.3
KEY_CONF = 0.5
#: Human names of the joints, for the messages.
JOINT_WORDS: dict[int, str] = {
    NOSE: "nose", NECK: "neck", R_SHOULDER: "right shoulder", R_ELBOW: "right elbow", R_WRIST: "right wrist",
    L_SHOULDER: "left shoulder", L_ELBOW: "left elbow", L_WRIST: "left wrist", R_HIP: "right hip",
    R_KNEE: "right knee", R_ANKLE: "right ankle", L_HIP: "left hip", L_KNEE: "left knee", L_ANKLE: "left ankle",
}
#: Limbs (a, b, name, longest plausible length as a fraction of the body size).
LIMBS: tuple[tuple[int, int, str, float], ...] = (
    (R_SHOULDER, R_ELBOW, "right upper arm", 1.2), (R_ELBOW, R_WRIST, "right forearm", 1.2),
    (L_SHOULDER, L_ELBOW, "left upper arm", 1.2), (L_ELBOW, L_WRIST, "left forearm", 1.2),
    (R_HIP, R_KNEE, "right thigh", 1.8), (R_KNEE, R_ANKLE, "right shin", 1.8),
    (L_HIP, L_KNEE, "left thigh", 1.8), (L_KNEE, L_ANKLE, "left shin", 1.8),
)
#: A segment shorter than this fraction of the body size has no length (its two ends are on one
#: point). A forearm pointing at the camera is foreshortened to ~0.02 on real dance footage, so
#: only a whole limb (shoulder to wrist, hip to ankle) shorter than :data:`ZERO_LIMB` also counts.
ZERO_LENGTH = 0.005
ZERO_LIMB = 0.12
#: The three joints of each whole limb and its name.
CHAINS: tuple[tuple[int, int, int, str], ...] = (
    (R_SHOULDER, R_ELBOW, R_WRIST, "right arm"), (L_SHOULDER, L_ELBOW, L_WRIST, "left arm"),
    (R_HIP, R_KNEE, R_ANKLE, "right leg"), (L_HIP, L_KNEE, L_ANKLE, "left leg"),
)
#: Two joints closer than this fraction of the body size are on the same point.
SAME_POINT = 0.07
#: A shoulder or hip pair narrower than this fraction of the body size is seen edge-on (a
#: profile): its left/right order and the arms' sides are not judged.
EDGE_ON = 0.2
#: A few words per kind of problem (see :attr:`PoseProblem.short`).
SHORT: dict[str, str] = {
    "confidence": "unsure points", "outside": "head or shoulders outside the photo",
    "left_right": "left and right swapped", "arms_one_side": "both arms on one side",
    "zero_length": "a limb with no length", "proportions": "a limb too long for a person", "missing": "no person",
}
#: How far (fraction of the image) a point may lie outside the photo and still count as inside.
OUTSIDE_MARGIN = 0.02


@dataclass(frozen=True)
class PoseProblem:
    """One thing wrong with a pose: ``kind`` (``confidence``, ``outside``, ``left_right``,
    ``arms_one_side``, ``collapsed``, ``zero_length``, ``proportions``, ``missing``), the
    ``joints`` (OpenPose-18 indices) it concerns, and ``message``, a sentence saying what is
    wrong and which points to move."""

    kind: str
    joints: tuple[int, ...]
    message: str

    @property
    def short(self) -> str:
        """A few words naming the problem (for a one-line warning)."""
        if self.kind == "collapsed":
            return "legs on one line" if R_KNEE in self.joints else "hips on one point"
        return SHORT[self.kind]


@dataclass(frozen=True)
class PoseCheck:
    """The result of :func:`check_reference_pose`: the problems found (none: the pose is fine)."""

    problems: tuple[PoseProblem, ...] = ()

    @property
    def ok(self) -> bool:
        """Whether no problem was found."""
        return not self.problems

    @property
    def kinds(self) -> tuple[str, ...]:
        """The kinds of the problems found, in order."""
        return tuple(p.kind for p in self.problems)

    def headline(self) -> str:
        """The problems in a few words each, e.g. ``both arms on one side, legs on one line``."""
        return ", ".join(dict.fromkeys(p.short for p in self.problems))

    def summary(self) -> str:
        """One line for a warning: every problem, or ``""`` when the pose is fine."""
        if self.ok:
            return ""
        return "The photo's pose looks wrong: " + " ".join(p.message for p in self.problems)


def _len(v: np.ndarray) -> float:
    return float(np.hypot(v[0], v[1]))


class _Body:
    """One body in pixels with its confidences and the measures the rules share."""

    def __init__(self, px: np.ndarray, conf: np.ndarray, width: int, height: int) -> None:
        self.px = np.asarray(px, np.float64)
        self.conf = np.where(np.isfinite(self.px).all(axis=1), np.asarray(conf, np.float64), 0.0)
        self.width, self.height = int(width), int(height)
        self.ok = self.conf >= MEASURE_CONF
        sh = self.px[L_SHOULDER] - self.px[R_SHOULDER]
        self.shoulder_w = _len(sh)
        self.hips = bool(self.ok[R_HIP] and self.ok[L_HIP])
        self.hip_w = _len(self.px[L_HIP] - self.px[R_HIP]) if self.hips else 0.0
        mid_sh = 0.5 * (self.px[R_SHOULDER] + self.px[L_SHOULDER])
        self.mid_shoulder = mid_sh
        self.torso = _len(0.5 * (self.px[R_HIP] + self.px[L_HIP]) - mid_sh) if self.hips else 0.0
        # The body size: robust to a foreshortened torso (bending) and to a profile (narrow).
        self.size = max(self.torso, 1.6 * self.shoulder_w, 1.6 * self.hip_w, 1e-6)
        self.across = sh / self.shoulder_w if self.shoulder_w > 1e-9 else np.array([1.0, 0.0])

    def has(self, *joints: int) -> bool:
        return bool(all(self.ok[j] for j in joints))

    def dist(self, a: int, b: int) -> float:
        return _len(self.px[a] - self.px[b]) / self.size

    def inside(self, j: int) -> bool:
        x, y = self.px[j] / np.array([self.width, self.height], np.float64)
        m = OUTSIDE_MARGIN
        return bool(-m <= x <= 1 + m and -m <= y <= 1 + m)


def _confidence(b: _Body) -> list[PoseProblem]:
    # The hips are judged only when a knee is seen clearly: in a half-length portrait the hips
    # sit at the photo's edge with a low score, which is right (retargeting then skips them).
    legs_seen = bool(b.conf[R_KNEE] >= KEY_CONF or b.conf[L_KNEE] >= KEY_CONF)
    key = (R_SHOULDER, L_SHOULDER) + ((R_HIP, L_HIP) if legs_seen else ())
    unsure = [j for j in key if np.isfinite(b.px[j]).all() and b.inside(j) and b.conf[j] < KEY_CONF]
    if not unsure:
        return []
    names = ", ".join(f"the {JOINT_WORDS[j]} ({b.conf[j]:.2f})" for j in unsure)
    return [PoseProblem("confidence", tuple(unsure),
                        f"The detector is unsure where {names} {'is' if len(unsure) == 1 else 'are'}; "
                        "check those points.")]


def _outside(b: _Body) -> list[PoseProblem]:
    out = [j for j in (NOSE, R_SHOULDER, L_SHOULDER) if b.ok[j] and not b.inside(j)]
    if not out:
        return []
    names = " and the ".join(JOINT_WORDS[j] for j in out)
    return [PoseProblem("outside", tuple(out),
                        f"The {names} {'lies' if len(out) == 1 else 'lie'} outside the photo; use a photo "
                        "showing the person's head and shoulders, or drag the points onto the body.")]


def _left_right(b: _Body) -> list[PoseProblem]:
    if not b.hips or b.shoulder_w < EDGE_ON * b.size or b.hip_w < EDGE_ON * b.size:
        return []
    hip_across = (b.px[L_HIP] - b.px[R_HIP]) / b.hip_w
    if float(b.across @ hip_across) >= -0.2:
        return []
    return [PoseProblem("left_right", (R_SHOULDER, L_SHOULDER, R_HIP, L_HIP),
                        "The shoulders and the hips are ordered opposite ways left to right (one pair is "
                        "swapped); drag the left and right hips onto their sides.")]


def _same_arm(b: _Body) -> bool:
    return (b.has(R_ELBOW, R_WRIST, L_ELBOW, L_WRIST) and b.dist(R_ELBOW, L_ELBOW) < SAME_POINT
            and b.dist(R_WRIST, L_WRIST) < SAME_POINT)


def _crossed(b: _Body) -> list[tuple[int, int, int, int, str, str]]:
    """Arms beyond the other shoulder while the other arm is on its own side: ``(elbow, wrist,
    other elbow, other wrist, side, other side)`` each."""
    if b.shoulder_w < EDGE_ON * b.size or _same_arm(b):
        return []

    def along(j: int) -> float:  # position across the body, from the right shoulder (0) to the left (1)
        return float((b.px[j] - b.px[R_SHOULDER]) @ b.across) / b.shoulder_w

    arms = ((R_ELBOW, R_WRIST, "right", "left"), (L_ELBOW, L_WRIST, "left", "right"))
    out = []
    for k, (elbow, wrist, side, other) in enumerate(arms):
        o_elbow, o_wrist = arms[1 - k][:2]
        if not b.has(elbow, wrist, o_elbow, o_wrist):
            continue
        beyond = [along(elbow), along(wrist)]
        crossed = all(v > 1.0 for v in beyond) if side == "right" else all(v < 0.0 for v in beyond)
        o = [along(o_elbow), along(o_wrist)]
        own_side = all(v < 0.5 for v in o) if other == "right" else all(v > 0.5 for v in o)
        if crossed and own_side:
            out.append((elbow, wrist, o_elbow, o_wrist, side, other))
    return out


def crossed_arms(px: np.ndarray, conf: np.ndarray, width: int, height: int) -> tuple[str, ...]:
    """``"right"``/``"left"``: the arms of a body (as :func:`check_body` takes it) found beyond
    the other shoulder while the other arm is on its own side (the draft renderer gives such an
    arm no pixels of its own)."""
    return tuple(c[4] for c in _crossed(_Body(px, conf, width, height)))


def _arms(b: _Body) -> list[PoseProblem]:
    if _same_arm(b):
        return [PoseProblem("arms_one_side", (R_ELBOW, R_WRIST, L_ELBOW, L_WRIST),
                            "Both arms were found on the same arm (the elbows and the wrists are on the "
                            "same points); drag one elbow and wrist onto the other arm.")]
    return [PoseProblem("arms_one_side", (elbow, wrist, o_elbow, o_wrist),
                        f"Both arms are on the {other} side of the body (the {side} elbow and wrist are "
                        f"beyond the {other} shoulder); drag them onto the {side} arm.")
            for elbow, wrist, o_elbow, o_wrist, side, other in _crossed(b)]


def _collapsed(b: _Body) -> list[PoseProblem]:
    out: list[PoseProblem] = []
    if b.hips and b.hip_w >= EDGE_ON * b.size and b.has(R_KNEE, L_KNEE, R_ANKLE, L_ANKLE) \
            and b.dist(R_KNEE, L_KNEE) < SAME_POINT and b.dist(R_ANKLE, L_ANKLE) < SAME_POINT:
        out.append(PoseProblem("collapsed", (R_KNEE, R_ANKLE, L_KNEE, L_ANKLE),
                               "Both legs were found on one line (the knees and the ankles are on the same "
                               "points while the hips are apart); drag one knee and ankle onto the other leg."))
    if b.hips and b.hip_w < 0.2 * b.shoulder_w and b.shoulder_w >= 2 * EDGE_ON * b.size:
        out.append(PoseProblem("collapsed", (R_HIP, L_HIP),
                               "The two hips are on one point although the shoulders face the camera; drag "
                               "the hips apart."))
    sure = b.conf >= KEY_CONF
    zero: list[tuple[str, tuple[int, ...]]] = []
    for a, m, c, name in CHAINS:
        if sure[a] and sure[m] and sure[c] and b.dist(a, m) + b.dist(m, c) < ZERO_LIMB:
            zero.append((name, (a, m, c)))
    zero += [(name, (a, c)) for a, c, name, _ in LIMBS
             if sure[a] and sure[c] and b.dist(a, c) < ZERO_LENGTH and not any(a in j for _, j in zero)]
    if zero:
        names = " and the ".join(n for n, _ in zero)
        out.append(PoseProblem("zero_length", tuple(j for _, js in zero for j in js),
                               f"The {names} {'has' if len(zero) == 1 else 'have'} no length (its points are "
                               "on one spot); drag the end point out along the limb."))
    return out


def _proportions(b: _Body) -> list[PoseProblem]:
    out: list[PoseProblem] = []
    for a, c, name, longest in LIMBS:
        if b.has(a, c) and b.dist(a, c) > longest:
            out.append(PoseProblem("proportions", (a, c),
                                   f"The {name} is {b.dist(a, c):.1f} times the body's size, longer than a "
                                   f"person's (at most {longest:g}); drag the {JOINT_WORDS[c]} closer."))
    if b.hips and b.shoulder_w >= EDGE_ON * b.size and b.torso < 0.5 * b.shoulder_w:
        out.append(PoseProblem("proportions", (R_HIP, L_HIP),
                               "The hips are almost at the height of the shoulders (the torso has no length); "
                               "drag the hips down to the waist."))
    return out


def check_body(px: np.ndarray, conf: np.ndarray, width: int, height: int) -> PoseCheck:
    """Check one OpenPose-18 body: ``px`` ``(18, 2)`` in pixels of a ``width`` x ``height``
    photo (NaN where missing), ``conf`` ``(18,)`` the detector's confidences."""
    b = _Body(px, conf, width, height)
    if not b.has(R_SHOULDER, L_SHOULDER):
        return PoseCheck((PoseProblem("missing", (R_SHOULDER, L_SHOULDER),
                                      "No shoulders were found; use a photo showing the person's upper body."),))
    problems = _outside(b) + _confidence(b) + _left_right(b) + _arms(b) + _collapsed(b) + _proportions(b)
    return PoseCheck(tuple(problems))


def check_reference_pose(pose: PoseTrack | None, frame: int = 0) -> PoseCheck:
    """Check frame ``frame`` of a reference photo's pose (see the module docs); a missing pose
    or a photo without a person gives one ``missing`` problem."""
    if pose is None or not 0 <= frame < len(pose) or not bool(pose.has_person()[frame]):
        return PoseCheck((PoseProblem("missing", (), "No person was found in the photo."),))
    size = np.array([pose.width, pose.height], np.float64)
    return check_body(np.asarray(pose.body[frame], np.float64) * size, pose.body_conf[frame],
                      pose.width, pose.height)
