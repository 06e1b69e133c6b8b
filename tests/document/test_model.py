"""The document model without Qt: its undo stack follows QUndoStack's rules, its signals fire
for edits, and importing it loads neither Qt nor torch."""

from __future__ import annotations

import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from studio.document.model import DocumentModel
from studio.document.undo import Command, UndoStack

REPO = Path(__file__).resolve().parents[2]
SAMPLE = REPO / "resources" / "sample"


class Add(Command):
    """Adds ``n`` to ``box[0]``; ``key`` commands merge."""

    def __init__(self, box: list[int], n: int, key: int = -1) -> None:
        super().__init__(f"add {n}")
        self.box, self.n, self.key = box, n, key

    def id(self) -> int:
        return self.key

    def mergeWith(self, other: Command) -> bool:  # noqa: N802 - the Command API
        assert isinstance(other, Add)
        self.n += other.n
        self.setText(f"add {self.n}")
        self.setObsolete(self.n == 0)
        return True

    def redo(self) -> None:
        self.box[0] += self.n

    def undo(self) -> None:
        self.box[0] -= self.n


def test_push_undo_redo_and_the_clean_state() -> None:
    box, stack, clean = [0], UndoStack(), []
    stack.cleanChanged.connect(clean.append)
    stack.push(Add(box, 1))
    stack.push(Add(box, 2))
    assert box == [3] and stack.count() == 2 and stack.undoText() == "add 2" and clean == [False]
    stack.setClean()
    stack.undo()
    assert box == [1] and stack.redoText() == "add 2" and not stack.isClean() and clean == [False, True, False]
    stack.push(Add(box, 5))  # drops the undone edit; the saved state is unreachable now
    assert box == [6] and [stack.text(i) for i in range(stack.count())] == ["add 1", "add 5"]
    stack.undo()
    stack.undo()
    assert box == [0] and not stack.canUndo() and not stack.isClean()
    stack.clear()
    assert stack.isClean() and stack.count() == 0 and clean[-1] is True


def test_commands_with_one_id_merge_and_a_merge_to_nothing_leaves_the_stack() -> None:
    box, stack = [0], UndoStack()
    stack.push(Add(box, 1, key=7))
    stack.push(Add(box, 2, key=7))
    assert box == [3] and stack.count() == 1 and stack.undoText() == "add 3"
    stack.push(Add(box, -3, key=7))  # back where it started: obsolete, removed
    assert box == [0] and stack.count() == 0 and stack.isClean()
    stack.push(Add(box, 1, key=7))
    stack.setClean()
    stack.push(Add(box, 1, key=7))  # never merged into the saved state
    assert stack.count() == 2


def test_edits_signal_and_undo_without_a_window(tmp_path: Path) -> None:
    shutil.copytree(SAMPLE, tmp_path / "sample")
    doc = DocumentModel()
    doc.open(tmp_path / "sample" / "sample.studio.json")
    seen: list[str] = []
    doc.settings_changed.connect(lambda: seen.append("settings"))
    doc.keys_changed.connect(lambda: seen.append("keys"))
    seed = doc.settings.seed
    doc.update_settings(seed=seed + 3)
    doc.update_settings(seed=seed + 30)  # typed into the same field: one undo step
    assert seen == ["settings", "keys"] * 2 and doc.undo_stack.count() == 1 and doc.dirty
    doc.undo_stack.undo()
    assert doc.settings.seed == seed and not doc.dirty
    doc.timeline.set_in(4)
    assert doc.project.frame_range == (4, 48) and doc.undo_stack.undoText() == "Set in point to frame 4"
    keys = doc.frame_keys()
    assert keys is not None and len(keys) == doc.timeline.frame_count
    cache_events: list[tuple[int, int]] = []
    doc.cache_changed.connect(lambda a, b: cache_events.append((a, b)))
    import numpy as np

    doc.cache.put(keys[0], 0, np.zeros((8, 8, 3), np.uint8), final=True)
    assert cache_events == [(0, 1)]


def test_importing_the_model_loads_neither_qt_nor_torch() -> None:
    code = textwrap.dedent("""
        import sys
        for name in ("PySide6", "shiboken6", "torch"):
            sys.modules[name] = None  # importing them fails
        import studio.document.model, studio.document.commands  # noqa: F401
        print("ok")
    """)
    run = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0 and run.stdout.strip() == "ok", run.stderr[-2000:]


@pytest.mark.parametrize("edit", ["reference", "driving"])
def test_snapshot_edits_are_one_undo_step(tmp_path: Path, edit: str) -> None:
    import numpy as np

    shutil.copytree(SAMPLE, tmp_path / "sample")
    doc = DocumentModel()
    doc.open(tmp_path / "sample" / "sample.studio.json")
    if edit == "reference":
        before = doc.reference_rgb
        doc.set_reference(tmp_path / "other.png", np.zeros((64, 48, 3), np.uint8), None, None)
        doc.undo_stack.undo()
        assert doc.reference_rgb is before
    else:
        before = doc.pose
        doc.set_live_photo(1.0, 12)
        assert doc.timeline.frame_count == 12
        doc.undo_stack.undo()
        assert doc.pose is before and doc.timeline.frame_count == len(before)
