"""Shared test configuration."""

import os
import sys

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("GLOG_minloglevel", "2")  # keep mediapipe quiet
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
# One CPU thread for torch's (OpenMP) and MKL's kernels, here and in the processes the tests start
# (they inherit the environment). The tests' models are tiny (<= 16x16 latents): a second thread
# saves nothing on them, and on a shared CPU every parallel op waits at an OpenMP barrier for a
# descheduled thread: the tiny face render (20 frames, 1 step) took 0.4 s with one thread and
# 2-16 s with two on this 2-core machine under load 3-5, 10-20x the CPU time. Results do not
# depend on it: every comparison in the suite is between renders made with the same setting.
for _var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")
if "torch" in sys.modules:  # a plug-in imported it before this file: set its pool directly
    sys.modules["torch"].set_num_threads(int(os.environ["OMP_NUM_THREADS"]))


def pytest_collection_finish(session) -> None:  # noqa: ARG001 - pytest's hook signature
    """Move everything collection made (torch, diffusers, transformers, Qt and the test modules,
    millions of objects) to the garbage collector's permanent generation: it is never garbage,
    and every full collection after this (the interpreter's own, and the ``gc.collect()`` of a
    backend's ``close()``) no longer walks it (0.3 s a ``gc.collect()`` before)."""
    import gc

    gc.collect()
    gc.freeze()
