"""Estimators that turn a face trace into a BVP waveform."""
