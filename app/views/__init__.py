"""The dashboard's tabs: Run, Compare, Sweep, Calibration, Shadow; each one `render(...)` function."""
