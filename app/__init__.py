"""Front ends over the rppg core: command line, desktop GUI, daemon, evaluation, training."""
