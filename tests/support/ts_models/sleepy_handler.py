"""TorchServe handler that only sleeps: a deterministic service time for queueing tests.

The sleep is per handler call, i.e. per batch (one request when batchSize is 1, the default here).
Its length comes from the environment variable SERVETWIN_SLEEP_MS when set (TorchServe workers inherit
the frontend's environment), else from `handler.sleep_ms` in the model-config YAML packed in the .mar.
"""

import os
import time

_ENV_SLEEP_MS = "SERVETWIN_SLEEP_MS"
_DEFAULT_SLEEP_MS = 50.0
_state = {"sleep_ms": _DEFAULT_SLEEP_MS}


def _configured_sleep_ms(context) -> float:
    from_env = os.environ.get(_ENV_SLEEP_MS)
    if from_env:
        return float(from_env)
    handler_config = (getattr(context, "model_yaml_config", None) or {}).get("handler", {})
    return float(handler_config.get("sleep_ms", _DEFAULT_SLEEP_MS))


def handle(data, context):
    if data is None:  # TorchServe initialises a function entry point by calling it with no data
        _state["sleep_ms"] = _configured_sleep_ms(context)
        return None
    time.sleep(_state["sleep_ms"] / 1000.0)
    reply = {"slept_ms": _state["sleep_ms"], "batch": len(data), "pid": os.getpid()}
    return [reply for _ in data]
