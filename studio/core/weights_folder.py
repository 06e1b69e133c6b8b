"""Where the X-Dyna weights are: one rule for the command line, the window and ``studio doctor``.

The release folder (``pretrained_weights``) is, in this order:

1. the folder given for this run (``--weights DIR``);
2. the project's weights folder (saved in the ``.studio.json``);
3. the window's remembered weights folder (a preference, set in the render panel);
4. the ``STUDIO_WEIGHTS_DIR`` environment variable;
5. the default folder, ``weights`` in the user data folder (``~/.local/share/xdyna-studio/weights``
   on Linux).

The command line has no preference (level 3); ``studio doctor`` has neither a project nor a
preference unless given ``--project``. The answer always names a folder, which may not exist:
:func:`resolve_weights_dir` says where it came from, so a message can say why that folder.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

#: Environment variable naming the weights folder.
WEIGHTS_ENV = "STUDIO_WEIGHTS_DIR"

#: Application name of the user data folder.
APP_NAME = "xdyna-studio"


@dataclass(frozen=True)
class WeightsFolder:
    """A weights folder and where it came from.

    ``origin`` is one of ``"--weights"``, ``"project"``, ``"preference"``, ``"$STUDIO_WEIGHTS_DIR"``
    or ``"default"``; :attr:`explained` words it for a person.
    """

    path: Path
    origin: str

    @property
    def explained(self) -> str:
        """``/path (from the project)`` style text."""
        words = {
            "--weights": "from --weights",
            "project": "from the project",
            "preference": "remembered by the studio window",
            f"${WEIGHTS_ENV}": f"from ${WEIGHTS_ENV}",
            "default": "the default folder",
        }
        return f"{self.path} ({words.get(self.origin, self.origin)})"


def default_weights_dir() -> Path:
    """``platformdirs.user_data_dir("xdyna-studio") / "weights"``."""
    import platformdirs

    return Path(platformdirs.user_data_dir(APP_NAME)) / "weights"


def resolve_weights_dir(
    flag: str | os.PathLike | None = None,
    project: str | os.PathLike | None = None,
    preference: str | os.PathLike | None = None,
    environ: Mapping[str, str] | None = None,
) -> WeightsFolder:
    """The weights folder by the rule in the module docstring (empty values are skipped).

    Parameters
    ----------
    flag: the folder given for this run (``--weights``).
    project: the project's ``weights_dir``.
    preference: the window's remembered folder.
    environ: the environment to read ``STUDIO_WEIGHTS_DIR`` from (default ``os.environ``).
    """
    env = os.environ if environ is None else environ
    for value, origin in ((flag, "--weights"), (project, "project"), (preference, "preference"),
                          (env.get(WEIGHTS_ENV), f"${WEIGHTS_ENV}")):
        if value is not None and str(value).strip():
            return WeightsFolder(Path(value).expanduser(), origin)
    return WeightsFolder(default_weights_dir(), "default")
