"""The StableAnimator renderer: SVD-xt + PoseNet + face encoder + ID adapter (identity-preserving).

Importing this package does not import torch. Modules:

* ``pipeline`` -- :class:`StableAnimatorPipeline` and :class:`RenderRequest`: photo + pose images
  + ArcFace embedding -> frames, numerically the official ``InferenceAnimationPipeline``.
* ``components`` -- :func:`load_components`: the official release folder -> models.
* ``layout`` -- the release's files (torch-free).
* ``tiles`` -- the official temporal tiles (torch-free).
* ``pose_images`` -- pose images drawn as the official DWPose script draws them (torch-free).
* ``pose_net``, ``face_encoder``, ``attention`` -- the StableAnimator modules on diffusers.
"""
