"""Renderers, each a package that registers a :class:`~studio.core.backend.BackendSpec` under
the ``studio.backends`` entry points (see pyproject.toml and docs/backends.md).

Nothing imports a backend package directly except the backend itself and its tests: the rest of
the studio asks :mod:`studio.core.registry` (``registry.get_spec(name)``,
``registry.create_backend(name, weights_dir)``), so a backend installed from another
distribution is used exactly like the ones in this tree.
"""
