"""An example studio backend in its own distribution (``studio-echo-backend``): it renders the
reference photo, placed on the render canvas, tinted towards a colour by the option ``strength``.
See docs/backends.md of the studio for the walk-through."""
