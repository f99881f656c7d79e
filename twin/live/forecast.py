"""Traffic forecasts over a shadow prediction's horizon, from the load observed just before it.

The load is one number per scrape step: for a closed loop the users in the system (Little's law), for an open loop
the request rate. Three forecasts:
- `flat`: the mean over the last rate window, held over the horizon (what the shadow did first).
- `holt`: Holt's linear method with a damped trend (Gardner and McKenzie 1985; Hyndman and Athanasopoulos,
  Forecasting: Principles and Practice, 3rd ed., §8.2), run over the window's steps. Its level follows a change within
  a few steps instead of a whole window; the damped trend carries a ramp on without running away after a step.
  Smoothing constants are the textbook's usual range (alpha 0.5 for a noisy per-second rate, beta 0.1, phi 0.9).
- `shape`: the scenario's own rate curve (steps, bursts, diurnal) over the horizon, scaled to the observed level now
  (scenario time 0 is the shadow's start). Without a curve it falls back to `holt`.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Literal, Sequence

Forecast = Literal["holt", "shape", "flat"]
FORECASTS: tuple[str, ...] = ("holt", "shape", "flat")


@dataclass(frozen=True)
class Holt:
    alpha: float = 0.5
    beta: float = 0.1
    phi: float = 0.9

    def fit(self, series: Sequence[float]) -> tuple[float, float]:
        """Level and trend (per step) after the last observation."""
        level, trend = series[0], 0.0
        for value in series[1:]:
            previous = level
            level = self.alpha * value + (1 - self.alpha) * (previous + self.phi * trend)
            trend = self.beta * (level - previous) + (1 - self.beta) * self.phi * trend
        return level, trend

    def ahead(self, level: float, trend: float, steps: float) -> float:
        """The level `steps` ahead: the trend adds phi + phi² + … + phi^steps of itself."""
        damped = self.phi * (1 - self.phi ** steps) / (1 - self.phi)
        return max(0.0, level + damped * trend)


def trajectory(kind: str, *, series: Sequence[float], window_mean: float, step_s: float, horizon_s: float,
               pieces: int, shape: Callable[[float], float] | None = None, at_s: float = 0.0) -> list[float]:
    """The load in each of `pieces` equal parts of the horizon (its value at each part's middle)."""
    middles = [(index + 0.5) * horizon_s / pieces for index in range(pieces)]
    if kind == "flat" or not series:
        return [window_mean] * pieces
    holt = Holt()
    level, trend = holt.fit(series)
    if kind == "shape" and shape is not None and shape(at_s) > 0:
        return [level * shape(at_s + middle) / shape(at_s) for middle in middles]
    return [holt.ahead(level, trend, middle / step_s) for middle in middles]
