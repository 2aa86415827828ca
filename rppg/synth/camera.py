"""The camera: exposure control, optics blur, sensor noise, tone curve, 8-bit quantisation, JPEG."""

from __future__ import annotations

import cv2
import numpy as np

from rppg.synth.spec import SynthSpec

_BANK = 3  # noise frames kept; each frame reads one at a random offset and sign
_PAD = 16


class Camera:
    """Turns scene radiance (float BGR, 0..255 at nominal exposure) into uint8 frames.

    Holds state across frames (exposure control), so frames must be passed in order."""

    def __init__(self, spec: SynthSpec, rng: np.random.Generator) -> None:
        self.spec = spec
        self.rng = rng
        h, w = spec.height, spec.width
        self.noisy = spec.shot_noise > 0 or spec.read_noise > 0
        if self.noisy:
            bank = rng.standard_normal((_BANK, h + _PAD, w + _PAD, 3), dtype=np.float32)
            sigma = rng.uniform(0, 0.8)  # demosaicing correlates neighbouring pixels' noise
            if sigma > 0.3:
                for k in range(_BANK):
                    bank[k] = cv2.GaussianBlur(bank[k], (0, 0), sigma)
                bank /= bank.std()
            self.bank = bank
        self.exposure = 1.0
        self.target: float | None = None
        self.jpeg_params = [cv2.IMWRITE_JPEG_QUALITY, int(spec.jpeg_quality)]

    def _noise(self) -> np.ndarray:
        k = int(self.rng.integers(_BANK))
        y, x = (int(v) for v in self.rng.integers(0, _PAD + 1, 2))
        n = self.bank[k, y:y + self.spec.height, x:x + self.spec.width]
        return n if self.rng.random() < 0.5 else -n

    def capture(self, radiance: np.ndarray) -> np.ndarray:
        """One frame: radiance (H, W, 3) float32, modified in place, -> uint8 BGR."""
        s = self.spec
        if s.auto_gain > 0:
            level = float(radiance[::8, ::8].mean()) + 1e-3
            if self.target is None:
                self.target = level
            radiance *= self.exposure
            # first-order exposure loop: reaches a new light level in about a second
            self.exposure *= (self.target / (level * self.exposure)) ** (0.08 * s.auto_gain)
            self.exposure = float(np.clip(self.exposure, 0.25, 4.0))
        if s.blur > 0:
            radiance = cv2.GaussianBlur(radiance, (0, 0), s.blur)
        if self.noisy:  # std = sqrt(shot * value + read^2), computed in place
            sigma = np.maximum(radiance, 0)
            sigma *= s.shot_noise
            sigma += s.read_noise**2
            np.sqrt(sigma, out=sigma)
            sigma *= self._noise()
            radiance += sigma
        if s.gamma != 1.0:
            np.clip(radiance, 0, 255, out=radiance)
            radiance = cv2.pow(radiance * (1 / 255.0), 1.0 / s.gamma) * 255.0
        np.maximum(radiance, 0, out=radiance)
        frame = cv2.convertScaleAbs(radiance)  # rounds and saturates to uint8 in one pass
        if s.jpeg_quality > 0:
            frame = cv2.imdecode(cv2.imencode(".jpg", frame, self.jpeg_params)[1], cv2.IMREAD_COLOR)
        return frame
