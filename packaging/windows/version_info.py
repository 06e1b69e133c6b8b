"""The Windows version resource of the bundle's executables (what Explorer shows in Properties).

PyInstaller reads a text file holding a ``VSVersionInfo(...)`` expression. Its own helper classes
need ``pefile``, which is only installed on Windows, so the text is written here directly; the
spec calls :func:`write_version_file` only when building on Windows.
"""

from __future__ import annotations

import re
from pathlib import Path

LICENSE = "Apache-2.0"


def version_tuple(version: str) -> tuple[int, int, int, int]:
    """``"0.1.0"`` -> ``(0, 1, 0, 0)``; suffixes such as ``.dev1`` or ``rc2`` are dropped.

    Raises ``ValueError`` when ``version`` does not start with a number."""
    parts = []
    for piece in version.split(".")[:4]:
        match = re.match(r"\d+", piece)
        if not match:
            break
        parts.append(int(match.group()))
    if not parts:
        raise ValueError(f"version {version!r} does not start with a number (expected e.g. 0.1.0)")
    return tuple((parts + [0, 0, 0, 0])[:4])  # type: ignore[return-value]


def version_text(version: str, product: str, internal_name: str = "studio") -> str:
    """The ``VSVersionInfo(...)`` text PyInstaller's ``version=`` option reads."""
    numbers = version_tuple(version)
    strings = {
        "CompanyName": "X-Dyna Studio contributors",
        "FileDescription": product,
        "FileVersion": version,
        "InternalName": internal_name,
        "LegalCopyright": f"{LICENSE} licence",
        "OriginalFilename": f"{internal_name}.exe",
        "ProductName": product,
        "ProductVersion": version,
    }
    table = ",\n          ".join(f"StringStruct({key!r}, {value!r})" for key, value in strings.items())
    return f"""VSVersionInfo(
  ffi=FixedFileInfo(
    filevers={numbers!r},
    prodvers={numbers!r},
    mask=0x3f,
    flags=0x0,
    OS=0x40004,
    fileType=0x1,
    subtype=0x0,
    date=(0, 0)
  ),
  kids=[
    StringFileInfo([
      StringTable(
        '040904B0',
        [{table}])
    ]),
    VarFileInfo([VarStruct('Translation', [1033, 1200])])
  ]
)
"""


def write_version_file(path: Path, version: str, product: str) -> str:
    """Write the version resource text to ``path``; its path as a string (for ``EXE(version=)``)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(version_text(version, product), encoding="utf-8")
    return str(path)
