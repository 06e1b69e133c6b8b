"""The DynamiCtrl backend: CogVideoX 1.5 image-to-video with pose-adaptive LayerNorm (PA-LN),
guided by a text prompt. Only this package (and the other model backends) imports torch."""
