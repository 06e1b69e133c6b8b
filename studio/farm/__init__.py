"""The render farm: a persistent render queue and the executors that run its jobs.

Layers (imports point downwards only)::

    studio.gui / studio.cli        add jobs, show the queue, start a runner
    studio.farm.queue              sqlite queue in the user data folder (jobs survive restarts)
    studio.farm.runner             claims queued jobs and drives run_job on the driver
    studio.farm.*_executor         where the renderer runs: a local helper process (default when
                                   ray is missing) or Ray actors (the optional ``[farm]`` extra)
    studio.core.render.run_job     the one render path: store, cache and resume, unchanged

Only :mod:`studio.farm.ray_executor` and :mod:`studio.farm.ray_actors` import ``ray``, and only
when a Ray executor is built, so the studio works without the extra. Nothing here imports Qt.
"""
