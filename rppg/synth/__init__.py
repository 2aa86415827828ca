"""Synthetic face videos with a known pulse: training data, tests, evaluation and the demo source.

See README.md beside this file for the signal model and every randomised factor.
"""

from rppg.synth.render import SynthClip, iter_frames, render_clip
from rppg.synth.spec import SynthSpec
from rppg.synth.ubfc import write_ubfc

__all__ = ["SynthClip", "SynthSpec", "iter_frames", "render_clip", "write_ubfc"]
