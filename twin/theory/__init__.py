"""Exact queueing results the twin is checked against, and a fast surrogate for calibration."""
