"""Training of the teacher and the distilled student (imports rppg, never app)."""
