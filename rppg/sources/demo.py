"""The ``demo`` source: a synthetic face with a known pulse, so the program runs with no camera."""

from __future__ import annotations

from rppg.containers import Frame
from rppg.sources.base import FrameSource

DEMO_SECONDS = 40.0
DEMO_HR_BPM = 72.0


class DemoSource(FrameSource):
    """A generated 640x480, 30 fps face video at 72 bpm (seed fixed, so runs repeat)."""

    def __init__(self, realtime: bool = False, duration_s: float = DEMO_SECONDS, seed: int = 7) -> None:
        super().__init__(realtime)
        from rppg.synth import SynthSpec, iter_frames  # generator is heavy; import only when used

        self.spec = SynthSpec(duration_s=duration_s, fps=30.0, width=640, height=480,
                              hr_bpm=DEMO_HR_BPM, seed=seed)
        self.fps = self.spec.fps
        self.name = "demo"
        self._frames = iter_frames(self.spec)

    def _read(self) -> Frame | None:
        item = next(self._frames, None)
        if item is None:
            return None
        image, t = item
        return Frame(image=image, t=float(t))
