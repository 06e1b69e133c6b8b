"""Shared test configuration."""

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("GLOG_minloglevel", "2")  # keep mediapipe quiet
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
