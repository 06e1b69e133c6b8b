"""PyInstaller hook for mediapipe (0.10.x, legacy ``mediapipe.solutions``).

The legacy solutions (Pose, Hands, FaceMesh, SelfieSegmentation, ...) load their calculator
graphs (``*.binarypb``) and models (``*.tflite``, plus the small label files the graphs name) from
``mediapipe/modules`` at run time, by path, so PyInstaller cannot see them. They are collected
here. mediapipe's optional extras (jax for the genai converters, sounddevice for audio tasks,
torch for the converters) are never imported by the solutions and are kept out.
"""

from PyInstaller.utils.hooks import collect_data_files, copy_metadata

datas = collect_data_files(
    "mediapipe",
    includes=["modules/**/*.tflite", "modules/**/*.binarypb", "modules/**/*.txt"],
)
datas += copy_metadata("mediapipe")

excludedimports = ["jax", "jaxlib", "sounddevice", "torch", "tensorflow"]
