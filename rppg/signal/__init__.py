"""Signal processing: filtering, resampling, heart rate from a BVP waveform."""
