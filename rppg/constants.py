"""Constants shared by the pipeline, the networks and training, in one place."""

#: Rate (Hz) every trace and crop window is resampled to, by timestamps.
MODEL_FPS: float = 30.0

#: Side (pixels) of the square face crop fed to the networks.
CROP_SIZE: int = 36

#: Number of frames a network sees at once during training (at MODEL_FPS).
TRAIN_WINDOW: int = 240

#: Default heart-rate band in beats per minute.
HR_MIN_BPM: float = 40.0
HR_MAX_BPM: float = 200.0

#: Default analysis window and step (seconds) for live readings and evaluation.
WINDOW_SECONDS: float = 10.0
STEP_SECONDS: float = 1.0

#: Signal quality (SNR in dB of the pulse peak and harmonic) below which a
#: reading is withheld (bpm None) rather than guessed.
QUALITY_GATE_DB: float = -1.5

#: Methods the command line accepts, default first.
METHODS: tuple[str, ...] = ("student", "teacher", "pos", "chrom", "green")

#: A face whose box is smaller than this (pixels, larger side) gives no bpm (reason
#: "face_too_small"): below it the skin signal drowns in quantisation and compression
#: noise. Chosen by shrinking the real clip (scripts/face_size_bench.py writes the errors per face
#: size to docs/face_size.json; the README renders them): just under the smallest face at which
#: every window stayed within 3 bpm with the student shipped before. The current student stays
#: within 3 bpm down to the smallest size measured; one clip is too little to lower it on.
MIN_FACE_PX: float = 24.0

#: Seconds between face detections when the networks read the crop (flow tracks in between
#: otherwise). 0: detect on every frame. A third of the networks' training clips have
#: flow-tracked crops, and they read the held-out synthetic sets better from such crops but the
#: real clip far worse (models/README.md, "Tracking on the networks' path"), so network methods
#: detect on every frame.
NETWORK_REDETECT_S: float = 0.0
#: Intra-op threads of the networks' backend (PyTorch or ONNX Runtime). A network reads a 10 s
#: window once a second, a few milliseconds of work; more threads split that little work and
#: then spin while they wait, taking cycles from decoding and face tracking on the same cores
#: (`rppg bench` compares the pipeline with and without the limit).
NETWORK_THREADS: int = 1
#: How the networks' box moves between those detections: "hold" (the last detection, smoothed) or
#: "flow" (optical flow); see rppg.face.tracker.FaceTracker.
NETWORK_FOLLOW: str = "hold"
