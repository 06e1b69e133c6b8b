"""Fitting source images to the render size, and the matching map of track coordinates.

The official X-Dyna code fits images three ways (see ``xdyna_official.md`` section 4):

- ``"center"``: the reference photo (``imread_resize_crop``): centre-crop to the render aspect
  ratio, then a bilinear resize. The crop is ``int(W/H * h)`` wide (or ``int(w / (W/H))`` tall).
- ``"top"``: driving frames in S-Face mode (``nms_precessor.crop2ratio``): crop to the render
  aspect, centred horizontally but offset vertically by ``(h - crop_h) // 4`` so the crop is
  biased toward the top (where the face is), then a bilinear resize. The crop is
  ``int(w / W * H)`` tall (or ``int(h / H * W)`` wide).
- ``"stretch"``: driving frames in pose-only mode: resized to the render size without keeping
  the aspect ratio.
- ``"fit"`` (studio framing preset): the whole frame is shown, letterboxed with black bars.

:meth:`CanvasFit.placed` moves and scales an image on the canvas (the artist's photo framing):
its crop may then reach outside the image, which is filled by repeating the edge pixels.

:class:`CanvasFit` holds the crop and maps track coordinates (normalised to the source frame)
into the render canvas, so pose maps drawn from a track line up with the fitted frames.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from studio.core.errors import StudioError
from studio.core.tracks import FaceTrack, PoseTrack

FitMode = Literal["center", "top", "stretch"]
FIT_MODES: tuple[str, ...] = ("center", "top", "stretch", "fit")


@dataclass(frozen=True)
class CanvasFit:
    """How a ``src_w`` x ``src_h`` image is cropped to ``crop`` and resized to ``dst_w`` x ``dst_h``.

    ``crop`` is ``(x0, y0, crop_w, crop_h)`` in source pixels (whole pixels inside the image for
    the official modes; it may be fractional and reach outside the image after :meth:`placed` or
    in ``"fit"`` mode).
    """

    src_w: int
    src_h: int
    dst_w: int
    dst_h: int
    mode: str
    crop: tuple[float, float, float, float]

    @classmethod
    def create(cls, src_w: int, src_h: int, dst_w: int, dst_h: int, mode: str = "center") -> "CanvasFit":
        """Compute the crop for ``mode`` (one of :data:`FIT_MODES`) as the official code does."""
        for name, v in (("source width", src_w), ("source height", src_h),
                        ("render width", dst_w), ("render height", dst_h)):
            if int(v) <= 0:
                raise StudioError("Invalid size", f"The {name} is {v}; it must be a positive number of pixels.")
        w, h, tw, th = int(src_w), int(src_h), int(dst_w), int(dst_h)
        if mode == "stretch":
            crop = (0, 0, w, h)
        elif mode == "center":
            aspect = tw / th
            if w / h > aspect:
                cw = int(aspect * h)
                crop = ((w - cw) // 2, 0, cw, h)
            else:
                ch = int(w / aspect)
                crop = (0, (h - ch) // 2, w, ch)
        elif mode == "top":
            if w / h < tw / th:
                cw, ch = w, int(w / tw * th)
            else:
                ch, cw = h, int(h / th * tw)
            crop = ((w - cw) // 2, (h - ch) // 4, cw, ch)
        elif mode == "fit":
            aspect = tw / th
            if w / h > aspect:  # bars above and below
                ch_f = w / aspect
                crop = (0, -(ch_f - h) / 2, w, ch_f)
            else:  # bars left and right
                cw_f = h * aspect
                crop = (-(cw_f - w) / 2, 0, cw_f, h)
        else:
            raise StudioError(
                "Unknown fit mode", f"Fit mode {mode!r} is not one of {', '.join(FIT_MODES)}."
            )
        return cls(w, h, tw, th, mode, crop)

    # -- images -----------------------------------------------------------------------------

    def apply(self, image: np.ndarray) -> np.ndarray:
        """Crop and bilinearly resize ``image`` (``src_h`` x ``src_w``) to the render size."""
        import cv2

        a = np.asarray(image)
        if a.shape[:2] != (self.src_h, self.src_w):
            raise StudioError(
                "Image size does not match",
                f"The image is {a.shape[1]}x{a.shape[0]} but this fit was made for "
                f"{self.src_w}x{self.src_h}. Create a CanvasFit for the image's own size.",
            )
        x0, y0, cw, ch = self.crop
        if self._inside_whole_pixels():
            x0, y0, cw, ch = (int(v) for v in self.crop)
            return cv2.resize(np.ascontiguousarray(a[y0:y0 + ch, x0:x0 + cw]), (self.dst_w, self.dst_h))
        # canvas pixel centre (u + 0.5) samples the source at x0 + (u + 0.5) * cw / dst_w (as cv2.resize)
        sx, sy = cw / self.dst_w, ch / self.dst_h
        m = np.array([[sx, 0.0, x0 + 0.5 * sx - 0.5], [0.0, sy, y0 + 0.5 * sy - 0.5]], np.float64)
        border = cv2.BORDER_CONSTANT if self.mode == "fit" else cv2.BORDER_REPLICATE
        return cv2.warpAffine(np.ascontiguousarray(a), m, (self.dst_w, self.dst_h),
                              flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP, borderMode=border, borderValue=0)

    def _inside_whole_pixels(self) -> bool:
        x0, y0, cw, ch = self.crop
        whole = all(float(v).is_integer() for v in self.crop)
        return whole and x0 >= 0 and y0 >= 0 and x0 + cw <= self.src_w and y0 + ch <= self.src_h

    def placed(self, offset: tuple[float, float] = (0.0, 0.0), scale: float = 1.0) -> "CanvasFit":
        """This fit with the image scaled by ``scale`` about the canvas centre, then moved by
        ``offset`` (fractions of the canvas width and height; +x right, +y down)."""
        ox, oy = float(offset[0]), float(offset[1])
        scale = float(scale)
        if not scale > 0:
            raise StudioError("Invalid photo scale", f"The scale {scale:g} must be positive (1 = the official fit).")
        if ox == 0 and oy == 0 and scale == 1:
            return self
        x0, y0, cw, ch = self.crop
        ncw, nch = cw / scale, ch / scale
        cx, cy = x0 + cw / 2 - ox * ncw, y0 + ch / 2 - oy * nch
        return CanvasFit(self.src_w, self.src_h, self.dst_w, self.dst_h, self.mode,
                         (cx - ncw / 2, cy - nch / 2, ncw, nch))

    # -- coordinates ------------------------------------------------------------------------

    def to_canvas_norm(self, xy: np.ndarray) -> np.ndarray:
        """Source-normalised ``(..., 2)`` points -> canvas-normalised points (NaN stays NaN)."""
        x0, y0, cw, ch = self.crop
        p = np.asarray(xy, np.float64)
        out = np.empty_like(p)
        out[..., 0] = (p[..., 0] * self.src_w - x0) / cw
        out[..., 1] = (p[..., 1] * self.src_h - y0) / ch
        return out.astype(np.float32)

    def to_canvas_px(self, xy: np.ndarray) -> np.ndarray:
        """Source-normalised points -> canvas pixel coordinates (continuous, 0..dst_w)."""
        n = self.to_canvas_norm(xy).astype(np.float64)
        return n * np.array([self.dst_w, self.dst_h], np.float64)

    def from_canvas_norm(self, xy: np.ndarray) -> np.ndarray:
        """Inverse of :meth:`to_canvas_norm`."""
        x0, y0, cw, ch = self.crop
        p = np.asarray(xy, np.float64)
        out = np.empty_like(p)
        out[..., 0] = (p[..., 0] * cw + x0) / self.src_w
        out[..., 1] = (p[..., 1] * ch + y0) / self.src_h
        return out.astype(np.float32)

    def pose_to_canvas(self, pose: PoseTrack) -> PoseTrack:
        """A copy of ``pose`` normalised to the render canvas (width/height = render size)."""
        out = PoseTrack(
            body=self.to_canvas_norm(pose.body), body_conf=pose.body_conf.copy(),
            hands=self.to_canvas_norm(pose.hands), hands_conf=pose.hands_conf.copy(),
            flags=pose.flags.copy(), width=self.dst_w, height=self.dst_h, fps=pose.fps,
        )
        return out

    def face_to_canvas(self, face: FaceTrack) -> FaceTrack:
        """A copy of ``face`` normalised to the render canvas."""
        box = face.box.reshape(-1, 2, 2)
        return FaceTrack(
            box=self.to_canvas_norm(box).reshape(-1, 4), left_eye=self.to_canvas_norm(face.left_eye),
            right_eye=self.to_canvas_norm(face.right_eye), mouth=self.to_canvas_norm(face.mouth),
            conf=face.conf.copy(), flags=face.flags.copy(), width=self.dst_w, height=self.dst_h,
            fps=face.fps,
        )


def fit_image(image: np.ndarray, width: int, height: int, mode: str = "center") -> np.ndarray:
    """Fit one ``(H, W, 3)`` image to ``width`` x ``height`` (see :class:`CanvasFit`)."""
    a = np.asarray(image)
    if a.ndim < 2:
        raise StudioError("Invalid image", f"Expected an image array, got shape {a.shape}.")
    return CanvasFit.create(a.shape[1], a.shape[0], width, height, mode).apply(a)
