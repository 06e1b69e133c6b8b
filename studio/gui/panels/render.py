"""Render panel: the renderer (every registered backend, :mod:`studio.core.registry`), its weights
folder (with a status line from its weights check) when it has weights, the shared settings (seed
with a dice button, size, retargeting, framing, device and precision) and a form built from the
chosen renderer's options model (:class:`~studio.gui.options_form.OptionsForm`); Render / From
scratch / Cancel; progress with ETA. Every control writes into the document's render settings
(one undoable edit each); its tooltip says what it costs in time and memory."""

from __future__ import annotations

import random
from pathlib import Path

from PySide6.QtWidgets import (
    QCheckBox, QComboBox, QFileDialog, QFormLayout, QGroupBox, QHBoxLayout, QLabel, QLineEdit, QProgressBar,
    QPushButton, QSpinBox, QToolButton, QVBoxLayout, QWidget,
)

from studio.core import registry
from studio.core.errors import StudioError
from studio.gui.errors import hub
from studio.gui.options_form import OptionsForm
from studio.gui.panels.render_parts import (
    DEVICES, DTYPES, FRAMINGS, PHASES, TIPS, CacheLegend, fmt_seconds, weights_status,
)


class RenderPanel(QWidget):
    """Settings and the Render/Cancel buttons for a document and its render controller."""

    def __init__(self, document, controller, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.doc = document
        self.ctl = controller
        self.setObjectName("RenderPanel")
        self.backend = QComboBox()
        for name, spec in registry.specs().items():
            self.backend.addItem(spec.label, name)
            self.backend.setItemData(self.backend.count() - 1, spec.description, 3)  # tooltip role
        self.weights = QLineEdit()
        self.weights_btn = QToolButton(text="…")
        self.weights_status = QLabel()
        self.weights_status.setWordWrap(True)
        self.seed = QSpinBox()
        self.seed.setRange(0, 2**31 - 1)
        self.dice = QToolButton(text="Random")
        self.dice.setToolTip("A new random seed")
        self.width_ = QSpinBox()
        self.height_ = QSpinBox()
        for w in (self.width_, self.height_):
            w.setRange(64, 2048)
            w.setSingleStep(8)
            w.setToolTip(TIPS["size"])
        self.retarget = QCheckBox("Retarget the motion to the reference body")
        self.framing = QComboBox()
        for key, label in FRAMINGS:
            self.framing.addItem(label, key)
        self.frame_btn = QToolButton(text="Frame on Pose pane")
        self.frame_btn.setCheckable(True)
        self.device = QComboBox()
        for key, label in DEVICES:
            self.device.addItem(label, key)
        self.dtype = QComboBox()
        for key, label in DTYPES:
            self.dtype.addItem(label, key)
        for name in ("seed", "retarget", "framing", "frame_btn", "device", "dtype"):
            getattr(self, name).setToolTip(TIPS[name])
        self.render_btn = QPushButton("Render")
        self.render_btn.setDefault(True)
        self.queue_btn = QPushButton("Add to queue")
        self.queue_btn.setToolTip("Queue a render of the in/out range with these settings; the Queue dock "
                                  "shows it, and `studio queue run` (or Run queue) renders it")
        self.cancel_btn = QPushButton("Cancel")
        self.scratch_btn = QToolButton(text="From scratch")
        self.scratch_btn.setToolTip("Render the in/out range again, replacing its finished frames "
                                    "(frames outside the range are kept). Render reuses them.")
        self.progress = QProgressBar()
        self.progress.setTextVisible(True)
        self.progress.setFormat("")
        self.eta = QLabel()
        self.summary = QLabel()
        self.summary.setWordWrap(True)
        self.summary.setObjectName("renderSummary")

        weights_row = QHBoxLayout()
        weights_row.addWidget(self.weights, 1)
        weights_row.addWidget(self.weights_btn)
        self.weights_box = QWidget()
        wb = QFormLayout(self.weights_box)
        wb.setContentsMargins(0, 0, 0, 0)
        wb.addRow("Weights", weights_row)
        wb.addRow("", self.weights_status)
        seed_row = QHBoxLayout()
        seed_row.addWidget(self.seed, 1)
        seed_row.addWidget(self.dice)
        size_row = QHBoxLayout()
        size_row.addWidget(self.width_, 1)
        size_row.addWidget(QLabel("×"))
        size_row.addWidget(self.height_, 1)
        framing_row = QHBoxLayout()
        framing_row.addWidget(self.framing, 1)
        framing_row.addWidget(self.frame_btn)
        form = QFormLayout()
        form.addRow("Renderer", self.backend)
        shared = QFormLayout()
        shared.addRow("Seed", seed_row)
        shared.addRow("Size (W×H)", size_row)
        shared.addRow("", self.retarget)
        shared.addRow("Framing", framing_row)
        self.device_box = QGroupBox("Device (same frames)")
        device = QFormLayout(self.device_box)
        device.addRow("Device", self.device)
        device.addRow("Precision", self.dtype)
        #: The chosen renderer's options form (rebuilt when the renderer changes).
        self.options: OptionsForm | None = None
        self.options_holder = QVBoxLayout()
        buttons = QHBoxLayout()
        buttons.addWidget(self.render_btn, 1)
        buttons.addWidget(self.queue_btn)
        buttons.addWidget(self.scratch_btn)
        buttons.addWidget(self.cancel_btn)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(6, 6, 6, 6)
        lay.addLayout(form)
        lay.addWidget(self.weights_box)
        lay.addLayout(shared)
        lay.addLayout(self.options_holder)
        lay.addWidget(self.device_box)
        lay.addSpacing(6)
        lay.addLayout(buttons)
        lay.addWidget(self.progress)
        lay.addWidget(self.eta)
        lay.addSpacing(8)
        lay.addWidget(self.summary)
        lay.addSpacing(8)
        lay.addWidget(CacheLegend())
        lay.addStretch(1)

        self.backend.currentIndexChanged.connect(lambda _: self._set(backend=self.backend.currentData()))
        self.seed.valueChanged.connect(lambda v: self._set(seed=v))
        self.width_.editingFinished.connect(lambda: self._set(width=self.width_.value() // 8 * 8))
        self.height_.editingFinished.connect(lambda: self._set(height=self.height_.value() // 8 * 8))
        self.retarget.toggled.connect(lambda v: self._set(retarget=v))
        self.framing.activated.connect(lambda _: self._frame(self.framing.currentData()))
        self.device.currentIndexChanged.connect(lambda _: self._set(device=self.device.currentData()))
        self.dtype.currentIndexChanged.connect(lambda _: self._set(dtype=self.dtype.currentData()))
        self.dice.clicked.connect(self.roll_seed)
        self.weights.editingFinished.connect(self._weights_edited)
        self.weights_btn.clicked.connect(self._choose_weights)
        self.render_btn.clicked.connect(lambda: self.render())
        self.scratch_btn.clicked.connect(lambda: self.render(from_scratch=True))
        self.cancel_btn.clicked.connect(controller.cancel)
        controller.busy_changed.connect(self._busy)
        controller.progress.connect(self._progress)
        controller.eta.connect(self._eta)
        controller.finished.connect(lambda n, s: self.eta.setText(f"Done: {n} frames in {fmt_seconds(s)}"))
        controller.cancelled.connect(lambda done: self.eta.setText(f"Cancelled; {len(done)} finished frames kept"))
        controller.failed.connect(lambda err: self.eta.setText(f"Failed: {err.title}"))
        document.settings_changed.connect(self.refresh)
        for sig in (document.timeline.range_changed, document.timeline.frame_count_changed):
            sig.connect(lambda *_: self._summarise())
        for sig in (document.path_changed, document.reference_changed, document.driving_changed):
            sig.connect(lambda *_: self._summarise())
        document.driving_changed.connect(self.refresh)  # live photo or not: live-photo-only options
        for sig in (document.keys_changed, document.driving_changed, document.timeline.current_changed):
            sig.connect(lambda *_: self._ready())  # the frames to render may have their pose now
        self.refresh()
        self._busy(False)

    def _set(self, **changes) -> None:
        if self._updating:
            return
        try:
            self.doc.update_settings(**changes)
        except StudioError as err:
            hub().report(err)
            self.refresh()

    _updating = False

    def _options_form(self, spec) -> OptionsForm:
        """The form of ``spec``'s options model (built when the renderer changes)."""
        if self.options is None or self.options.model is not spec.options:
            if self.options is not None:
                self.options_holder.removeWidget(self.options)
                self.options.hide()
                self.options.setParent(None)
                self.options.deleteLater()
            self.options = OptionsForm(spec.options)
            self.options.setObjectName(f"options_{spec.name}")
            self.options.changed.connect(lambda name, value: self._set(**{name: value}))
            self.options_holder.addWidget(self.options)
            self.options.show()  # made after the panel may be on screen
        return self.options

    def refresh(self) -> None:
        """Show the document's settings."""
        s = self.doc.settings
        spec = registry.get_spec(s.backend)
        self._updating = True
        try:
            self.backend.setCurrentIndex(max(0, self.backend.findData(s.backend)))
            self.seed.setValue(min(s.seed, self.seed.maximum()))
            self.width_.setValue(s.width)
            self.height_.setValue(s.height)
            self.retarget.setChecked(s.retarget)
            self.framing.setCurrentIndex(self.framing.findData(self._framing_name()))
            if self.device.findData(s.device) < 0:  # e.g. cuda:1 from a project or the CLI
                self.device.addItem(s.device, s.device)
            self.device.setCurrentIndex(self.device.findData(s.device))
            self.dtype.setCurrentIndex(max(0, self.dtype.findData(s.dtype)))
            self._options_form(spec).set_values(s.options)
            self.options.set_live_photo(self.doc.project.is_live_photo)
            wd = self.doc.project.weights_dir
            self.weights.setText(str(wd) if wd else "")
        finally:
            self._updating = False
        self.device_box.setVisible("torch" in spec.requires or spec.capabilities.needs_weights)
        self.weights_box.setVisible(spec.weights is not None)
        if spec.weights is not None:
            self.weights.setPlaceholderText(self.doc.weights_folder().explained)
            self.weights.setToolTip(f"The {spec.label} weights folder. {spec.weights.licence}".strip())
            self.weights_btn.setToolTip(f"Choose the {spec.label} weights folder")
            ok, line = weights_status(spec, self.doc.weights_folder().path, s.options)
            self.weights_status.setText(line)
            self.weights_status.setStyleSheet("" if ok else "color: #e0a040;")
        self._summarise()

    def _framing_name(self) -> str:
        """The preset the document's framing matches, else ``custom``."""
        from studio.extract.framing import PRESETS, preset_changes

        s, rgb = self.doc.settings, self.doc.reference_rgb
        photo = (rgb.shape[1], rgb.shape[0]) if rgb is not None else None
        for name in PRESETS:
            want = preset_changes(name, photo, (s.width, s.height))
            if all(getattr(s, k) == v for k, v in want.items()):
                return name
        return "custom"

    def _frame(self, name: str) -> None:
        if name == "custom":
            self.frame_btn.setChecked(True)  # custom framing is made by dragging
            return
        try:
            self.doc.apply_framing_preset(name)
        except StudioError as err:
            hub().report(err)
            self.refresh()

    def _summarise(self) -> None:
        tl, s = self.doc.timeline, self.doc.settings
        if self.doc.reference_rgb is None or tl.frame_count == 0:
            need = [w for w, ok in (("a reference photo", self.doc.reference_rgb is not None),
                                    ("a driving video", tl.frame_count > 0)) if not ok]
            self.summary.setText("To render, open " + " and ".join(need) + ".")
            return
        frames = self.doc.render_range() or (tl.in_point, tl.out_point)
        first, last = frames[0], frames[-1]
        n = last - first + 1
        early = " (the frames with a pose so far: the rest of the clip is still being extracted)" \
            if (first, last) != (tl.in_point, tl.out_point) else ""
        folder = self.doc.project.default_render_dir()
        where = f"Frames are saved in {folder.name}/ next to the project." if folder else \
            "Save the project to keep rendered frames on disk."
        self.summary.setText(
            f"Renders frames {first}–{last}{early} ({n} frames, {n / tl.fps:.1f} s) at "
            f"{s.width}×{s.height}. Set the range with I and O on the timeline. {where}")

    def roll_seed(self) -> None:
        """Pick a new random seed."""
        self.seed.setValue(random.randrange(0, self.seed.maximum()))

    def _weights_edited(self) -> None:
        text = self.weights.text().strip()
        new = Path(text) if text else None
        if new != self.doc.project.weights_dir:
            self.doc.set_weights_dir(new)

    def _choose_weights(self) -> None:
        label = registry.get_spec(self.doc.settings.backend).label
        path = QFileDialog.getExistingDirectory(self, f"Choose the {label} weights folder")
        if path:
            self.doc.set_weights_dir(Path(path))

    def render(self, from_scratch: bool = False) -> None:
        """Start a render of the in/out range: reusing its finished frames, or ``from_scratch``
        rendering every frame of the range again (frames outside it are never touched)."""
        try:
            self.ctl.start(resume=not from_scratch)
        except StudioError as err:
            hub().report(err)

    def _ready(self) -> None:
        """Render and From scratch are enabled when no render runs and every frame to render has
        its pose (during range-first extraction: as soon as the first frames have one)."""
        from studio.gui.render_ready import render_ready

        ok, why = render_ready(self.doc, self.ctl.busy)
        for b in (self.render_btn, self.scratch_btn):
            b.setEnabled(ok)
        self.render_btn.setToolTip(why)
        self._summarise()

    def _busy(self, busy: bool) -> None:
        self._ready()
        self.cancel_btn.setEnabled(busy)
        if busy:
            self.progress.setRange(0, 0)
            self.progress.setFormat("Starting…")
            self.eta.setText("")
        else:
            self.progress.setRange(0, 1)
            self.progress.setValue(0)
            self.progress.setFormat("")

    def _progress(self, step: int, total: int, phase: str, message: str) -> None:
        if total > 0:
            self.progress.setRange(0, total)
            self.progress.setValue(min(step, total))
            label = PHASES.get(phase, phase.capitalize())
            self.progress.setFormat(f"{label}: %v / %m")
            self.progress.setToolTip(message)

    def _eta(self, seconds: float) -> None:
        if seconds >= 0:
            self.eta.setText(f"About {fmt_seconds(seconds)} left")
