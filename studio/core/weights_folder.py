"""Where a backend's weights are: one rule for the command line, the window and ``studio doctor``.

A backend's weights folder (:attr:`~studio.core.backend.BackendSpec.weights`) is, in this order:

1. the folder given for this run (``--weights DIR``);
2. the project's weights folder for that backend (saved in the ``.studio.json``);
3. the window's remembered weights folder for that backend (a preference, set in the render panel);
4. the backend's environment variable (``STUDIO_<NAME>_WEIGHTS``; for X-Dyna also the older
   ``STUDIO_WEIGHTS_DIR``);
5. the backend's default folder (``weights/<name>`` in the user data folder; X-Dyna's is ``weights``,
   ``~/.local/share/xdyna-studio/weights`` on Linux).

The command line has no preference (level 3); ``studio doctor`` has neither a project nor a
preference unless given ``--project``. The answer always names a folder, which may not exist:
:func:`resolve_weights_dir` says where it came from, so a message can say why that folder.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

#: Environment variable naming X-Dyna's weights folder since before backends had their own
#: (still read, after ``STUDIO_XDYNA_WEIGHTS``).
WEIGHTS_ENV = "STUDIO_WEIGHTS_DIR"

#: Application name of the user data folder.
APP_NAME = "xdyna-studio"


@dataclass(frozen=True)
class WeightsFolder:
    """A weights folder and where it came from.

    ``origin`` is one of ``"--weights"``, ``"project"``, ``"preference"``, ``"$VARIABLE"`` or
    ``"default"``; :attr:`explained` words it for a person.
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
            "default": "the default folder",
        }
        origin = f"from {self.origin}" if self.origin.startswith("$") else words.get(self.origin, self.origin)
        return f"{self.path} ({origin})"


def default_weights_dir() -> Path:
    """``platformdirs.user_data_dir("xdyna-studio") / "weights"``."""
    import platformdirs

    return Path(platformdirs.user_data_dir(APP_NAME)) / "weights"


def env_vars(backend: str | None = None) -> tuple[str, ...]:
    """The environment variables naming ``backend``'s weights folder (default: the legacy backend's)."""
    from studio.core import registry

    name = backend if backend is not None else registry.legacy_name()
    if name is None:
        return (WEIGHTS_ENV,)
    weights = registry.get_spec(name).weights
    if weights is None:
        return ()
    return (weights.env_var, *weights.extra_env)


def backend_default(backend: str | None = None) -> Path:
    """``backend``'s default weights folder (see the module docstring)."""
    from studio.core import registry

    name = backend if backend is not None else registry.legacy_name()
    weights = registry.get_spec(name).weights if name is not None else None
    if weights is not None and weights.default_folder is not None:
        return Path(weights.default_folder())
    return default_weights_dir() / str(name)


def resolve_weights_dir(
    flag: str | os.PathLike | None = None,
    project: str | os.PathLike | None = None,
    preference: str | os.PathLike | None = None,
    environ: Mapping[str, str] | None = None,
    backend: str | None = None,
) -> WeightsFolder:
    """``backend``'s weights folder by the rule in the module docstring (empty values are skipped).

    Parameters
    ----------
    flag: the folder given for this run (``--weights``).
    project: the project's weights folder for ``backend``.
    preference: the window's remembered folder for ``backend``.
    environ: the environment to read the variables from (default ``os.environ``).
    backend: the backend's name (default: the legacy backend, X-Dyna).
    """
    env = os.environ if environ is None else environ
    candidates = [(flag, "--weights"), (project, "project"), (preference, "preference")]
    candidates += [(env.get(var), f"${var}") for var in env_vars(backend)]
    for value, origin in candidates:
        if value is not None and str(value).strip():
            return WeightsFolder(Path(value).expanduser(), origin)
    return WeightsFolder(backend_default(backend), "default")
