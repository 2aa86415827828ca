"""Face tracking and the regions cut from a tracked face."""
