"""The reference photo's pose in the document: its sanity check
(:mod:`studio.extract.pose_check`), the retargeting setting that goes with it, and dragging its
points (undoable).

A photo whose detected pose looks wrong switches retargeting off as part of the same undo step
that opens it ("Open photo NAME"), so the dancer does not take a broken body; the Reference
panel says what is wrong. The user can turn retargeting back on (the Render panel's checkbox or
the panel's "Retarget anyway"), or drag the wrong points: each drag is an undo step, the check
runs again, and once the pose passes, retargeting that the check switched off comes back on.
"""

from __future__ import annotations

import dataclasses

from studio.core.tracks import FLAG_EDITED, PoseTrack
from studio.extract.pose_check import JOINT_WORDS, PoseCheck, check_reference_pose
from studio.document.commands import StateCommand


def pose_check(pose: PoseTrack | None) -> PoseCheck | None:
    """The check of a reference pose; ``None`` without a pose or without a person (the panel
    says "No person found" for that)."""
    if pose is None or len(pose) == 0 or not bool(pose.has_person()[0]):
        return None
    return check_reference_pose(pose)


def _is_bad(pose: PoseTrack | None) -> bool:
    check = pose_check(pose)
    return check is not None and not check.ok


def with_retarget_choice(old, new):
    """``new`` (a :class:`~studio.document.states.ReferenceState` for another photo or pose) with
    the retargeting that goes with it: off (and remembered as switched off by the check) for a
    bad pose where it was on; back on for a good pose where the check had switched it off."""
    retarget, auto_off = old.retarget, old.auto_off
    if _is_bad(new.pose):
        if retarget:
            retarget, auto_off = False, True
    elif auto_off:
        retarget, auto_off = True, False
    return dataclasses.replace(new, retarget=retarget, auto_off=auto_off)


def move_reference_point(doc, part: str, index: int, x: float, y: float) -> None:
    """Move body point ``index`` (or hand point ``side * 21 + i`` for ``part == "hand"``) of the
    photo's pose to normalised ``(x, y)``, as one undo step."""
    old = doc._reference_state()  # noqa: SLF001 - the document's own snapshot
    pose = old.pose.copy()
    if part == "body":
        pose.body[0, index] = (x, y)
        pose.body_conf[0, index] = max(float(pose.body_conf[0, index]), 1.0)
        name = JOINT_WORDS.get(index, f"point {index}")
    else:
        side, i = divmod(int(index), 21)
        pose.hands[0, side, i] = (x, y)
        pose.hands_conf[0, side, i] = max(float(pose.hands_conf[0, side, i]), 1.0)
        name = f"{'left' if side == 0 else 'right'} hand point {i}"
    pose.flags[0] |= FLAG_EDITED
    new = with_retarget_choice(old, dataclasses.replace(old, pose=pose))
    doc.undo_stack.push(StateCommand(f"Move the photo's {name}", doc._apply_reference, old, new))  # noqa: SLF001


def warning_text(doc) -> tuple[str, str]:
    """The Reference panel's warning line about the photo's pose and its tooltip (every problem
    with the points to move); ``("", "")`` for a good pose."""
    check = pose_check(doc.project.reference_pose)
    if check is None or check.ok:
        return "", ""
    if doc.project.is_live_photo:
        tail = "A live photo holds this pose: drag the points to fix it."
    elif doc.settings.retarget:
        tail = "Retargeting is on anyway: the dancer takes this pose's proportions."
    else:
        tail = "Retargeting is off for this photo: drag the points to fix the pose (undoable), or retarget anyway."
    return f"⚠ The pose looks wrong ({check.headline()}). {tail}", check.summary()
