"""The reference-pose check of the command line: a warning line for a photo whose detected pose
looks wrong (:mod:`studio.extract.pose_check`), and retargeting switched off for that photo unless
the command asked for it (``--retarget``)."""

from __future__ import annotations

import sys
from typing import TextIO

from studio.core.project import Project


def check_reference(project: Project, retarget: bool | None = None, out: TextIO | None = None) -> bool:
    """Check ``project``'s reference pose; on a problem print one warning line to ``out``
    (stderr by default) and, when ``retarget`` was not given explicitly (``None``) and the
    project retargets, switch retargeting off in ``project.settings``. Returns whether the pose
    passed (a project without a reference pose passes: there is nothing to check yet).

    A live photo holds the photo's own pose, so there is nothing to retarget: only the
    warning is printed."""
    from studio.extract.pose_check import check_reference_pose

    pose = project.reference_pose
    if pose is None:
        return True
    check = check_reference_pose(pose)
    if check.ok or check.kinds == ("missing",):  # no person: the render itself says so
        return check.ok
    out = out if out is not None else sys.stderr
    name = project.reference_image.name if project.reference_image is not None else "the photo"
    line = f"warning: {name}: {check.summary()}"
    if project.is_live_photo:
        pass
    elif retarget:
        line += " Retargeting stays on (--retarget): the dancer takes this pose's proportions."
    elif retarget is None and project.settings.retarget:
        project.settings = project.settings.model_copy(update={"retarget": False})
        line += " Retargeting is off for this photo; give --retarget to use it anyway."
    print(line, file=out)
    return False
