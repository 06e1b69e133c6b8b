"""A form built from a backend's options model (:meth:`~studio.core.options.BackendOptions.describe`):
one widget per field (a check box, a spin box with the field's range, a line of text, or a list of
choices), the field's help as its tooltip. The render panel shows the chosen backend's form; it
knows no backend's fields."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QCheckBox, QComboBox, QDoubleSpinBox, QFormLayout, QGroupBox, QLineEdit, QSpinBox, QVBoxLayout, QWidget,
)

from studio.core.options import BackendOptions, OptionField


def _widget(f: OptionField) -> QWidget:
    if f.kind == "bool":
        return QCheckBox(f.label)
    if f.kind == "choice":
        box = QComboBox()
        for choice in f.choices:
            box.addItem(choice.capitalize(), choice)
        return box
    if f.kind == "int":
        spin = QSpinBox()
        spin.setRange(int(f.minimum) if f.minimum is not None else -2**31, int(f.maximum) if f.maximum is not None
                      else 2**31 - 1)
        return spin
    if f.kind == "float":
        spin = QDoubleSpinBox()
        spin.setDecimals(3)
        spin.setRange(f.minimum if f.minimum is not None else -1e9, f.maximum if f.maximum is not None else 1e9)
        span = (f.maximum - f.minimum) if f.minimum is not None and f.maximum is not None else 10.0
        spin.setSingleStep(0.5 if span > 5 else 0.05)
        return spin
    line = QLineEdit()
    if f.max_length is not None:
        line.setMaxLength(f.max_length)
    line.setPlaceholderText("(empty)")
    return line


class OptionsForm(QWidget):
    """The widgets of one options model; ``changed(name, value)`` when the user edits one.

    ``widgets`` maps field names to their widgets; fields marked ``how``/``advanced`` sit in the
    ``compute_box`` group ("How to compute"), the others in the main form.
    """

    changed = Signal(str, object)

    def __init__(self, model: type[BackendOptions], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model = model
        self.fields = {f.name: f for f in model.describe()}
        self.widgets: dict[str, QWidget] = {}
        self._updating = False
        main = QFormLayout()
        main.setContentsMargins(0, 0, 0, 0)
        self.compute_box = QGroupBox("How to compute (same frames)")
        self.compute_box.setObjectName("computeOptions")
        compute = QFormLayout(self.compute_box)
        for f in self.fields.values():
            w = _widget(f)
            w.setObjectName(f"option_{f.name}")
            w.setToolTip(f.help)
            self.widgets[f.name] = w
            layout = compute if f.advanced else main
            if f.kind == "bool":
                layout.addRow("", w)
            else:
                layout.addRow(f.label, w)
            self._connect(f, w)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addLayout(main)
        lay.addWidget(self.compute_box)
        self.compute_box.setVisible(compute.rowCount() > 0)
        for f in self.fields.values():  # a field that matters only with a switch on follows it
            if f.requires:
                self.widgets[f.requires].toggled.connect(lambda _=None: self._follow_switches())
        self._follow_switches()

    def _emit(self, name: str, value: Any) -> None:
        if not self._updating:
            self.changed.emit(name, value)

    def _connect(self, f: OptionField, w: QWidget) -> None:
        name = f.name
        if isinstance(w, QCheckBox):
            w.toggled.connect(lambda v: self._emit(name, bool(v)))
        elif isinstance(w, QComboBox):
            w.currentIndexChanged.connect(lambda _: self._emit(name, w.currentData()))
        elif isinstance(w, (QSpinBox, QDoubleSpinBox)):
            w.valueChanged.connect(lambda v: self._emit(name, v))
        elif isinstance(w, QLineEdit):
            w.editingFinished.connect(lambda: self._emit(name, w.text()))

    def set_live_photo(self, live: bool) -> None:
        """Enable the options that matter only for a live photo when ``live``."""
        for name, f in self.fields.items():
            if f.live_photo_only:
                self.widgets[name].setEnabled(live)

    def _follow_switches(self) -> None:
        """Enable each option that ``requires`` a switch only while that switch is on."""
        for name, f in self.fields.items():
            if f.requires:
                self.widgets[name].setEnabled(self.widgets[f.requires].isChecked())

    def set_values(self, options: BackendOptions) -> None:
        """Show ``options`` (no ``changed`` signals)."""
        self._updating = True
        try:
            for name, w in self.widgets.items():
                value = getattr(options, name)
                if isinstance(w, QCheckBox):
                    w.setChecked(bool(value))
                elif isinstance(w, QComboBox):
                    w.setCurrentIndex(max(0, w.findData(value)))
                elif isinstance(w, (QSpinBox, QDoubleSpinBox)):
                    w.setValue(value)
                elif isinstance(w, QLineEdit) and w.text() != value:
                    w.setText(value)
        finally:
            self._updating = False
