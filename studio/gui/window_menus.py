"""The main window's menus and their actions: File, Edit (undo/redo), Playback (transport
shortcuts), Render, View and Help. :func:`build_menus` makes them once, as the window's ``a_*``
actions and ``m_*`` menus; every action calls a window, timeline, playback or panel method.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QWidget

from studio.gui.undo import undo_actions

if TYPE_CHECKING:
    from studio.gui.main_window import MainWindow


def window_action(window: QWidget, text: str, slot: Callable, shortcut: Any = None, checkable: bool = False,
                  tip: str = "") -> QAction:
    """An action of ``window`` (its shortcut works anywhere in the window) that calls ``slot``."""
    a = QAction(text, window)
    if shortcut is not None:
        seqs = shortcut if isinstance(shortcut, list) else [shortcut]
        a.setShortcuts([QKeySequence(s) for s in seqs])
        a.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
    a.setCheckable(checkable)
    if tip:
        a.setToolTip(tip)
    a.triggered.connect(slot)
    window.addAction(a)
    return a


def build_menus(w: MainWindow) -> None:
    """The window's menus and actions (kept on it as ``a_*`` / ``m_*`` attributes)."""
    tl, pb = w.doc.timeline, w.playback
    mb = w.menuBar()
    m_file = mb.addMenu("&File")
    m_file.addAction(window_action(w, "&New", w.new_project, QKeySequence.StandardKey.New))
    m_file.addAction(window_action(w, "&Open…", w.open_dialog, QKeySequence.StandardKey.Open))
    w.m_recent = m_file.addMenu("Open &Recent")
    w.m_recent.aboutToShow.connect(w._fill_recent)  # noqa: SLF001 - the window's own menu
    m_file.addSeparator()
    m_file.addAction(window_action(w, "&Save", w.save, QKeySequence.StandardKey.Save))
    m_file.addAction(window_action(w, "Save &As…", w.save_as, QKeySequence.StandardKey.SaveAs))
    m_file.addSeparator()
    m_file.addAction(window_action(w, "Open &Photo…", lambda: w.reference_panel.choose()))
    m_file.addAction(window_action(w, "Open &Driving Video…", lambda: w.driving_panel.choose()))
    w.a_live = window_action(w, "Make a &Live Photo…", lambda: w.make_live_photo(),
                               tip="Hold the photo's own pose (no driving video); X-Dyna adds scene and hair "
                               "motion, the draft a gentle idle motion")
    m_file.addAction(w.a_live)
    m_file.addAction(window_action(w, "&Export…", w.export_dialog, "Ctrl+E"))
    m_file.addSeparator()
    m_file.addAction(window_action(w, "&Quit", w.close, QKeySequence.StandardKey.Quit))

    m_edit = mb.addMenu("&Edit")
    undo, redo = undo_actions(w.doc.undo_stack, w, "&Undo", "&Redo")
    undo.setShortcut(QKeySequence("Ctrl+Z"))
    redo.setShortcuts([QKeySequence("Ctrl+Shift+Z"), QKeySequence("Ctrl+Y")])
    w.a_undo, w.a_redo = undo, redo
    m_edit.addAction(undo)
    m_edit.addAction(redo)

    m_play = mb.addMenu("&Playback")
    w.a_play = window_action(w, "Play", pb.toggle, "Space", tip="Play / pause (Space)")
    w.a_back = window_action(w, "◀", lambda: tl.step(-1), "Left", tip="One frame back (Left)")
    w.a_fwd = window_action(w, "▶", lambda: tl.step(1), "Right", tip="One frame forward (Right)")
    w.a_back10 = window_action(w, "Back 10 Frames", lambda: tl.step(-10), "Shift+Left")
    w.a_fwd10 = window_action(w, "Forward 10 Frames", lambda: tl.step(10), "Shift+Right")
    w.a_j = window_action(w, "Play Backwards (J)", lambda: pb.shuttle(-1), "J")
    w.a_k = window_action(w, "Stop (K)", pb.stop, "K")
    w.a_l = window_action(w, "Play Forwards (L)", lambda: pb.shuttle(1), "L")
    w.a_start = window_action(w, "|◀", tl.go_start, "Home", tip="To the in point / first frame (Home)")
    w.a_end = window_action(w, "▶|", tl.go_end, "End", tip="To the out point / last frame (End)")
    w.a_set_in = window_action(w, "Set In", lambda: tl.set_in(), "I", tip="Set the in point at the playhead (I)")
    w.a_set_out = window_action(w, "Set Out", lambda: tl.set_out(), "O", tip="Set the out point at the playhead (O)")
    w.a_clear_range = window_action(w, "Clear In/Out", tl.clear_range, "Alt+X")
    w.a_loop = window_action(w, "Loop", tl.set_loop, "Ctrl+L", checkable=True, tip="Loop playback (Ctrl+L)")
    w.a_loop.setChecked(tl.loop)
    w.a_next_problem = window_action(w, "Next Problem Frame", lambda: w.goto_problem(1), "Alt+Right",
                                       tip="Jump to the next frame with a pose problem (Alt+Right)")
    w.a_prev_problem = window_action(w, "Previous Problem Frame", lambda: w.goto_problem(-1), "Alt+Left",
                                       tip="Jump to the previous frame with a pose problem (Alt+Left)")
    for a in (w.a_play, w.a_j, w.a_k, w.a_l, None, w.a_back, w.a_fwd, w.a_back10,
              w.a_fwd10, w.a_start, w.a_end, None, w.a_prev_problem, w.a_next_problem, None,
              w.a_set_in, w.a_set_out, w.a_clear_range, w.a_loop):
        m_play.addSeparator() if a is None else m_play.addAction(a)

    m_render = mb.addMenu("&Render")
    w.a_render = window_action(w, "&Render", w.render_panel_render, "Ctrl+R")
    w.a_cancel = window_action(w, "&Cancel Render", w.controller.cancel, "Escape")
    w.a_render_scratch = window_action(w, "Render from &Scratch",
                                         lambda: w.render_panel.render(from_scratch=True), "Ctrl+Shift+R")
    m_render.addAction(w.a_render)
    m_render.addAction(w.a_render_scratch)
    w.a_queue = window_action(w, "Add to &Queue", lambda: w.add_to_queue(), "Ctrl+Shift+Q",
                                tip="Queue a render of the in/out range (see the Queue dock)")
    m_render.addAction(w.a_queue)
    m_render.addAction(w.a_cancel)

    w.m_view = mb.addMenu("&View")
    w.a_side = window_action(w, "Side by Side", lambda on: w.viewer.set_side_by_side(on), "Ctrl+B", checkable=True)
    w.a_onion = window_action(w, "Onion Skin", lambda on: w.viewer.onion_box.setChecked(on), "Ctrl+K", checkable=True)
    w.m_view.addAction(w.a_side)
    w.m_view.addAction(w.a_onion)
    w.m_view.addSeparator()
    m_help = mb.addMenu("&Help")
    m_help.addAction(window_action(w, "&About", w.about))
