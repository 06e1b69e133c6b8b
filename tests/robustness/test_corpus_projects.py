"""Bad-input corpus, project files: corrupt, foreign, newer, damaged inside, or pointing at moved files."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from robust_helpers import assert_clear, sample_project_dict, write_json
from studio.core.errors import StudioError
from studio.core.project import SCHEMA_VERSION, Project


def _half_written(d: Path) -> Path:
    text = json.dumps(sample_project_dict(d))
    p = d / "crashed.studio.json"
    p.write_text(text[: len(text) // 2])
    return p


def _empty(d: Path) -> Path:
    p = d / "blank.studio.json"
    p.write_bytes(b"")
    return p


def _binary(d: Path) -> Path:
    p = d / "binary.studio.json"
    p.write_bytes(b"\x89PNG\r\n\x1a\n\x00\xff\xfe" * 50)
    return p


def _newer(d: Path) -> Path:
    data = sample_project_dict(d)
    data["schema_version"] = SCHEMA_VERSION + 1
    return write_json(d / "future.studio.json", data)


def _foreign_json(d: Path) -> Path:
    return write_json(d / "package.json", {"name": "left-pad", "version": "1.3.0"})


def _json_list(d: Path) -> Path:
    return write_json(d / "list.studio.json", [1, 2, 3])


def _bad_settings(d: Path) -> Path:
    data = sample_project_dict(d)
    data["settings"]["width"] = 13
    return write_json(d / "settings.studio.json", data)


def _bad_fps(d: Path) -> Path:
    data = sample_project_dict(d)
    data["fps"] = -5
    return write_json(d / "fps.studio.json", data)


def _bad_range(d: Path) -> Path:
    data = sample_project_dict(d)
    data["frame_range"] = [9, 3]
    return write_json(d / "range.studio.json", data)


def _garbled_track(d: Path) -> Path:
    data = sample_project_dict(d)
    data["tracks"]["pose"]["arrays"]["body"] = {"npy": "bm90IG51bXB5"}
    return write_json(d / "garbled.studio.json", data)


def _wrong_track_shape(d: Path) -> Path:
    data = sample_project_dict(d)
    data["tracks"]["pose"]["arrays"]["flags"] = sample_project_dict(d, n=3)["tracks"]["pose"]["arrays"]["flags"]
    return write_json(d / "shape.studio.json", data)


def _track_not_a_track(d: Path) -> Path:
    data = sample_project_dict(d)
    data["tracks"]["face"] = "a face"
    return write_json(d / "face.studio.json", data)


def _path_not_a_string(d: Path) -> Path:
    data = sample_project_dict(d)
    data["reference_image"] = 42
    return write_json(d / "path.studio.json", data)


def _folder(d: Path) -> Path:
    p = d / "folder.studio.json"
    p.mkdir()
    return p


def _missing(d: Path) -> Path:
    return d / "gone.studio.json"


ERROR_CASES: dict[str, Callable[[Path], Path]] = {
    "half-written": _half_written,
    "empty": _empty,
    "binary": _binary,
    "newer-schema": _newer,
    "foreign-json": _foreign_json,
    "json-list": _json_list,
    "invalid-settings": _bad_settings,
    "negative-fps": _bad_fps,
    "reversed-frame-range": _bad_range,
    "garbled-track-data": _garbled_track,
    "track-arrays-of-different-lengths": _wrong_track_shape,
    "track-not-an-object": _track_not_a_track,
    "path-not-a-string": _path_not_a_string,
    "folder": _folder,
    "missing": _missing,
}


@pytest.mark.parametrize("case", list(ERROR_CASES))
def test_bad_project_is_a_clear_error(tmp_path: Path, case: str) -> None:
    path = ERROR_CASES[case](tmp_path)
    with pytest.raises(StudioError) as info:
        Project.load(path)
    assert_clear(info.value, path.name)


def test_newer_schema_says_to_update(tmp_path: Path) -> None:
    with pytest.raises(StudioError) as info:
        Project.load(_newer(tmp_path))
    assert "newer" in info.value.description and "Update" in info.value.description


def test_moved_media_loads_and_lists_the_missing_files(tmp_path: Path) -> None:
    proj = tmp_path / "work" / "dance.studio.json"
    proj.parent.mkdir()
    data = sample_project_dict(tmp_path / "work")
    write_json(proj, data)
    shutil.move(tmp_path / "work" / "media", tmp_path / "elsewhere")  # the artist tidied up
    p = Project.load(proj)
    missing = dict(p.missing_files())
    assert set(missing) == {"reference_image", "driving_video"}
    assert missing["driving_video"].name == "dance.mp4" and missing["reference_image"].name == "photo.png"
    assert p.pose is not None and len(p.pose) == 6  # the tracks (and edits) are still there


def test_moving_the_whole_project_folder_keeps_the_links(tmp_path: Path) -> None:
    proj = tmp_path / "work" / "dance.studio.json"
    proj.parent.mkdir()
    write_json(proj, sample_project_dict(tmp_path / "work"))
    shutil.move(tmp_path / "work", tmp_path / "moved")
    assert Project.load(tmp_path / "moved" / "dance.studio.json").missing_files() == []


def test_gui_opens_a_project_with_moved_files_and_says_which(tmp_path: Path, qtbot, monkeypatch) -> None:
    pytest.importorskip("PySide6")
    from PySide6.QtCore import QSettings

    from studio.gui.errors import hub
    from studio.gui.main_window import MainWindow

    monkeypatch.setenv("STUDIO_RENDER_IN_THREAD", "1")
    proj = tmp_path / "work" / "dance.studio.json"
    proj.parent.mkdir()
    write_json(proj, sample_project_dict(tmp_path / "work"))
    shutil.rmtree(tmp_path / "work" / "media")
    reported: list[StudioError] = []
    monkeypatch.setattr(hub(), "presenter", lambda err, parent: reported.append(err))
    w = MainWindow(settings=QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat),
                   ask_save=lambda parent: "discard", ask_recover=lambda parent, path: False,
                   data_dir=tmp_path / "data")
    qtbot.addWidget(w)
    try:
        assert w.open_project(proj, confirm=False) is True
        assert w.doc.project.path == proj and w.doc.timeline.frame_count == 6
        assert len(reported) == 1
        err = assert_clear(reported[0], "dance.mp4", "photo.png")
        assert "missing" in err.title
        # a broken project is reported, and the window keeps the project it had
        broken = _half_written(tmp_path)
        assert w.open_project(broken, confirm=False) is False
        assert len(reported) == 2
        assert_clear(reported[1], "crashed.studio.json")
        assert w.doc.project.path == proj
    finally:
        w.controller.cancel()
        w.close()
