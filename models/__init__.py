"""Shipped weights, model cards and the face detector, installed as the package data ``rppg.model_files``."""
