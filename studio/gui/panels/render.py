"""Render panel: backend, X-Dyna weights folder (with a status line from the weights check),
prompt and negative prompt, steps, CFG, seed (with a dice button), schedule, overlap, weighting,
size, retargeting, S-Face, and the how-to-compute options (device, precision, low-VRAM mode,
sequential CFG, torch.compile); Render / From scratch / Cancel; progress with ETA. Every control
writes into the document's render settings (one undoable edit each), and its tooltip says what
it costs in time and memory."""

from __future__ import annotations

import random
from pathlib import Path

from PySide6.QtWidgets import (
    QCheckBox, QComboBox, QDoubleSpinBox, QFileDialog, QFormLayout, QGroupBox, QHBoxLayout, QLabel, QLineEdit,
    QProgressBar, QPushButton, QSpinBox, QToolButton, QVBoxLayout, QWidget,
)

from studio.core.errors import StudioError
from studio.gui.errors import hub

BACKENDS = (("draft", "Draft (instant, no weights)"), ("xdyna", "X-Dyna (diffusion)"))
SCHEDULES = (("reference", "Reference (official windows)"), ("stream", "Stream (window by window)"),
             ("static", "Static (no wrap-around)"))
WEIGHTINGS = (("flat", "Flat (official average)"), ("pyramid", "Pyramid (fade the overlaps)"))
FRAMINGS = (("official", "Official (photo filled, video top crop)"), ("center", "Centre (video centre crop)"),
            ("fit", "Fit (nothing cropped)"), ("custom", "Custom (dragged on the Pose pane)"))
DEVICES = (("auto", "Auto (GPU if present)"), ("cpu", "CPU"), ("cuda", "CUDA GPU"), ("mps", "Apple GPU (MPS)"))
DTYPES = (("auto", "Auto (fp16 on GPU, fp32 on CPU)"), ("float32", "float32"), ("float16", "float16"),
          ("bfloat16", "bfloat16"))

#: What each setting costs, shown as its tooltip.
TIPS = {
    "prompt": "Text that steers X-Dyna (e.g. 'wind in the hair, waves'). Empty, as in the official examples, "
              "by default. No extra time or memory: the text is encoded once per render.",
    "negative_prompt": "Text to steer away from. No extra time or memory.",
    "steps": "Denoising steps. Render time grows in proportion (every step runs the UNet over every window); "
             "memory does not change.",
    "cfg": "Classifier-free guidance strength. Every step runs the UNet on two halves (with and without the "
           "conditions) at any value, so changing it costs no time or memory; 'sequential CFG' trades the "
           "halves' shared activation memory for a little time.",
    "schedule": "Reference: the official schedule (all windows every step; previews of the whole clip). "
                "Stream: window after window, finished frames arrive early; same total time. Static: no "
                "wrap-around windows.",
    "overlap": "Frames shared by neighbouring 16-frame windows. More overlap: smoother seams, more windows, so "
               "more time (about n/(16-overlap) windows per step); memory per window unchanged.",
    "weighting": "How overlapping windows are mixed: flat (the official average) or pyramid (fades at window "
                 "edges). No cost in time or memory.",
    "size": "Render size. Time and activation memory grow with the pixel count (896x512 is about 3.5x "
            "512x256); the weights' memory does not.",
    "framing": "Where the photo and the driving video sit on the output canvas. Official: as the X-Dyna code "
               "(photo centre-cropped to fill, video top-cropped); Centre: video centre-cropped; Fit: nothing "
               "cropped (photo edges repeated, video letterboxed). No time or memory cost.",
    "frame_btn": "Drag on the Pose pane to move the photo, scroll to scale it; the skeleton follows live. "
                 "No time or memory cost; the frames render again.",
    "live_motion": "Live photo, draft renderer: how much the person breathes, sways and tilts the head "
                   "(0 = still, 1 = the default, up to 3). No time or memory cost.",
    "retarget": "Give the dancer's skeleton the photo person's proportions. Negligible cost (numpy, once per "
                "render).",
    "face_controlnet": "S-Face: the second ControlNet keeps the face expression of the driving video (the "
                       "photo's face for a live photo). Costs time: a second ControlNet evaluation per frame and "
                       "step; and memory: its weights (an SD1.5 ControlNet, ~361 M parameters, ~0.7 GiB in fp16).",
    "device": "Where X-Dyna runs. A GPU is tens of times faster than the CPU; the CPU needs about twice the "
              "memory (float32).",
    "dtype": "Precision. float16/bfloat16 halve the weights' and activations' memory and are faster on GPUs; "
             "CPUs compute in float32.",
    "low_vram": "Keep only the model in use on the GPU (the image/text encoders and the VAE leave it after "
                "use): lower peak memory, slower by the time the moves take (seconds per render).",
    "sequential_cfg": "Run the two CFG halves one after the other instead of as one batch: lower peak "
                      "activation memory, slightly slower. Same frames.",
    "torch_compile": "Compile the UNet with torch.compile: a one-off compile of a minute or more, then faster "
                     "steps on a GPU. Same frames up to float noise.",
}


#: Progress phases of the renderers, as shown on the progress bar.
PHASES = {"render": "Rendering frames", "denoise": "Denoising steps", "decode": "Decoding frames",
          "load": "Loading the weights", "prepare": "Preparing the inputs", "resume": "Reading finished frames"}


def weights_status(folder: Path | None, face: bool) -> tuple[bool, str]:
    """``(ok, line)`` describing the X-Dyna weights under ``folder`` (files only, no torch)."""
    if folder is None:
        return False, "No weights folder chosen (needed for X-Dyna only)."
    if not Path(folder).is_dir():
        return False, f"No weights folder at {folder} (needed for X-Dyna only): choose the release's folder."
    from studio.backends.xdyna.layout import check_release

    problems = check_release(folder, face=face)
    if not problems:
        return True, "✔ Weights found."
    more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
    return False, f"⚠ {problems[0]}{more}"


def fmt_seconds(s: float) -> str:
    """``1:05`` style duration."""
    s = int(round(max(0.0, s)))
    h, rem = divmod(s, 3600)
    m, sec = divmod(rem, 60)
    return f"{h}:{m:02d}:{sec:02d}" if h else f"{m}:{sec:02d}"


class CacheLegend(QWidget):
    """What the colours of the timeline's cache bar mean."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        from studio.core.frame_cache import FrameState
        from studio.gui.widgets.timeline import COLORS, RENDERING

        grid = QFormLayout(self)
        grid.setContentsMargins(0, 0, 0, 0)
        grid.setVerticalSpacing(2)
        title = QLabel("Timeline colours")
        title.setStyleSheet("font-weight: bold;")
        grid.addRow(title)
        for color, text in (
            (COLORS[FrameState.FINAL], "final frame"),
            (COLORS[FrameState.PREVIEW], "preview only (per-step or draft)"),
            (COLORS[FrameState.STALE], "stale: settings or pose changed since"),
            (RENDERING, "being rendered now"),
            (COLORS[FrameState.EMPTY], "not rendered"),
        ):
            swatch = QLabel()
            swatch.setFixedSize(22, 10)
            swatch.setStyleSheet(f"background: {color.name()}; border: 1px solid #15161a;")
            grid.addRow(swatch, QLabel(text))


class RenderPanel(QWidget):
    """Settings and the Render/Cancel buttons for a document and its render controller."""

    def __init__(self, document, controller, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.doc = document
        self.ctl = controller
        self.setObjectName("RenderPanel")
        self.backend = QComboBox()
        for key, label in BACKENDS:
            self.backend.addItem(label, key)
        self.weights = QLineEdit()
        self.weights.setPlaceholderText("X-Dyna pretrained_weights folder")
        self.weights_btn = QToolButton(text="…")
        self.weights_btn.setToolTip("Choose the X-Dyna weights folder")
        self.weights_status = QLabel()
        self.weights_status.setWordWrap(True)
        self.steps = QSpinBox()
        self.steps.setRange(1, 200)
        self.cfg = QDoubleSpinBox()
        self.cfg.setRange(0.0, 30.0)
        self.cfg.setSingleStep(0.5)
        self.seed = QSpinBox()
        self.seed.setRange(0, 2**31 - 1)
        self.dice = QToolButton(text="Random")
        self.dice.setToolTip("A new random seed")
        self.schedule = QComboBox()
        for key, label in SCHEDULES:
            self.schedule.addItem(label, key)
        self.overlap = QSpinBox()
        self.overlap.setRange(0, 12)
        self.width_ = QSpinBox()
        self.height_ = QSpinBox()
        for w in (self.width_, self.height_):
            w.setRange(64, 2048)
            w.setSingleStep(8)
        self.retarget = QCheckBox("Retarget the motion to the reference body")
        self.live_motion = QDoubleSpinBox()
        self.live_motion.setRange(0.0, 3.0)
        self.live_motion.setSingleStep(0.25)
        self.live_motion.setDecimals(2)
        self.live_motion.setSuffix("×")
        self.live_motion.setObjectName("liveMotion")
        self.framing = QComboBox()
        for key, label in FRAMINGS:
            self.framing.addItem(label, key)
        self.frame_btn = QToolButton(text="Frame on Pose pane")
        self.frame_btn.setCheckable(True)
        self.prompt = QLineEdit()
        self.prompt.setPlaceholderText("(empty, as in the official examples)")
        self.negative_prompt = QLineEdit()
        self.negative_prompt.setPlaceholderText("(empty)")
        self.weighting = QComboBox()
        for key, label in WEIGHTINGS:
            self.weighting.addItem(label, key)
        self.face = QCheckBox("S-Face ControlNet (keep the face expression)")
        self.device = QComboBox()
        for key, label in DEVICES:
            self.device.addItem(label, key)
        self.dtype = QComboBox()
        for key, label in DTYPES:
            self.dtype.addItem(label, key)
        self.low_vram = QCheckBox("Low-VRAM mode")
        self.sequential_cfg = QCheckBox("Sequential CFG")
        self.torch_compile = QCheckBox("torch.compile the UNet")
        for name in ("prompt", "negative_prompt", "steps", "cfg", "schedule", "overlap", "weighting", "retarget", "live_motion",
                     "device", "dtype", "low_vram", "sequential_cfg", "torch_compile", "framing", "frame_btn"):
            getattr(self, name).setToolTip(TIPS[name])
        self.face.setToolTip(TIPS["face_controlnet"])
        for w in (self.width_, self.height_):
            w.setToolTip(TIPS["size"])
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
        seed_row = QHBoxLayout()
        seed_row.addWidget(self.seed, 1)
        seed_row.addWidget(self.dice)
        size_row = QHBoxLayout()
        size_row.addWidget(self.width_, 1)
        size_row.addWidget(QLabel("×"))
        size_row.addWidget(self.height_, 1)
        form = QFormLayout()
        form.addRow("Renderer", self.backend)
        form.addRow("Weights", weights_row)
        form.addRow("", self.weights_status)
        form.addRow("Steps", self.steps)
        form.addRow("CFG", self.cfg)
        form.addRow("Seed", seed_row)
        form.addRow("Schedule", self.schedule)
        form.addRow("Overlap", self.overlap)
        form.addRow("Weighting", self.weighting)
        form.addRow("Size (W×H)", size_row)
        form.addRow("", self.retarget)
        form.addRow("Live motion", self.live_motion)
        framing_row = QHBoxLayout()
        framing_row.addWidget(self.framing, 1)
        framing_row.addWidget(self.frame_btn)
        form.addRow("Framing", framing_row)
        form.addRow("Prompt", self.prompt)
        form.addRow("Negative", self.negative_prompt)
        form.addRow("", self.face)
        self.compute_box = QGroupBox("How to compute (X-Dyna; same frames)")
        self.compute_box.setObjectName("computeOptions")
        compute = QFormLayout(self.compute_box)
        compute.addRow("Device", self.device)
        compute.addRow("Precision", self.dtype)
        compute.addRow("", self.low_vram)
        compute.addRow("", self.sequential_cfg)
        compute.addRow("", self.torch_compile)
        buttons = QHBoxLayout()
        buttons.addWidget(self.render_btn, 1)
        buttons.addWidget(self.queue_btn)
        buttons.addWidget(self.scratch_btn)
        buttons.addWidget(self.cancel_btn)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(6, 6, 6, 6)
        lay.addLayout(form)
        lay.addWidget(self.compute_box)
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
        self.schedule.currentIndexChanged.connect(lambda _: self._set(schedule=self.schedule.currentData()))
        self.steps.valueChanged.connect(lambda v: self._set(steps=v))
        self.cfg.valueChanged.connect(lambda v: self._set(cfg=v))
        self.seed.valueChanged.connect(lambda v: self._set(seed=v))
        self.overlap.valueChanged.connect(lambda v: self._set(overlap=v))
        self.width_.editingFinished.connect(lambda: self._set(width=self.width_.value() // 8 * 8))
        self.height_.editingFinished.connect(lambda: self._set(height=self.height_.value() // 8 * 8))
        self.retarget.toggled.connect(lambda v: self._set(retarget=v))
        self.live_motion.valueChanged.connect(lambda v: self._set(live_motion=round(v, 2)))
        self.framing.activated.connect(lambda _: self._frame(self.framing.currentData()))
        self.prompt.editingFinished.connect(lambda: self._set(prompt=self.prompt.text()))
        self.negative_prompt.editingFinished.connect(lambda: self._set(negative_prompt=self.negative_prompt.text()))
        self.weighting.currentIndexChanged.connect(lambda _: self._set(weighting=self.weighting.currentData()))
        self.face.toggled.connect(lambda v: self._set(face_controlnet=v))
        self.device.currentIndexChanged.connect(lambda _: self._set(device=self.device.currentData()))
        self.dtype.currentIndexChanged.connect(lambda _: self._set(dtype=self.dtype.currentData()))
        self.low_vram.toggled.connect(lambda v: self._set(low_vram=v))
        self.sequential_cfg.toggled.connect(lambda v: self._set(sequential_cfg=v))
        self.torch_compile.toggled.connect(lambda v: self._set(torch_compile=v))
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
        document.driving_changed.connect(self.refresh)  # live photo or not: the live-motion control
        for sig in (document.timeline.range_changed, document.timeline.frame_count_changed):
            sig.connect(lambda *_: self._summarise())
        for sig in (document.path_changed, document.reference_changed, document.driving_changed):
            sig.connect(lambda *_: self._summarise())
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

    def refresh(self) -> None:
        """Show the document's settings."""
        s = self.doc.settings
        self._updating = True
        try:
            self.backend.setCurrentIndex(max(0, self.backend.findData(s.backend)))
            self.schedule.setCurrentIndex(max(0, self.schedule.findData(s.schedule)))
            self.steps.setValue(s.steps)
            self.cfg.setValue(s.cfg)
            self.seed.setValue(min(s.seed, self.seed.maximum()))
            self.overlap.setValue(s.overlap)
            self.width_.setValue(s.width)
            self.height_.setValue(s.height)
            self.retarget.setChecked(s.retarget)
            self.live_motion.setValue(s.live_motion)
            self.framing.setCurrentIndex(self.framing.findData(self._framing_name()))
            if self.prompt.text() != s.prompt:
                self.prompt.setText(s.prompt)
            if self.negative_prompt.text() != s.negative_prompt:
                self.negative_prompt.setText(s.negative_prompt)
            self.weighting.setCurrentIndex(max(0, self.weighting.findData(s.weighting)))
            self.face.setChecked(s.face_controlnet)
            if self.device.findData(s.device) < 0:  # e.g. cuda:1 from a project or the CLI
                self.device.addItem(s.device, s.device)
            self.device.setCurrentIndex(self.device.findData(s.device))
            self.dtype.setCurrentIndex(max(0, self.dtype.findData(s.dtype)))
            self.low_vram.setChecked(s.low_vram)
            self.sequential_cfg.setChecked(s.sequential_cfg)
            self.torch_compile.setChecked(s.torch_compile)
            wd = self.doc.project.weights_dir
            self.weights.setText(str(wd) if wd else "")
            self.weights.setPlaceholderText(self.doc.weights_folder().explained)
        finally:
            self._updating = False
        xdyna = s.backend == "xdyna"
        self.live_motion.setEnabled(self.doc.project.is_live_photo and not xdyna)  # the draft's idle motion
        for w in (self.steps, self.cfg, self.schedule, self.overlap, self.weights, self.weights_btn, self.prompt,
                  self.negative_prompt, self.weighting, self.face, self.compute_box):
            w.setEnabled(xdyna)
        ok, line = weights_status(self.doc.weights_folder().path, s.face_controlnet)
        self.weights_status.setText(line)
        self.weights_status.setStyleSheet("" if ok or not xdyna else "color: #e0a040;")
        self.weights_status.setVisible(xdyna)
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
        folder = self.doc.project.default_render_dir()
        where = f"Frames are saved in {folder.name}/ next to the project." if folder else \
            "Save the project to keep rendered frames on disk."
        early = " (the frames with a pose so far: the rest of the clip is still being extracted)" \
            if (first, last) != (tl.in_point, tl.out_point) else ""
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
        path = QFileDialog.getExistingDirectory(self, "Choose the X-Dyna weights folder (pretrained_weights)")
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
