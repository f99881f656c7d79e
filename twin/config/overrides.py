"""`--set PATH=VALUE` on the command line: a scenario field path and its value, as sweeps set fields.

The path is `load_scenario`'s override path (`workload.0.users`, `deployment.resources.limits.memory`,
`autoscaling.keda.manifest.object.spec.maxReplicaCount`); the value is read as YAML (`3` is a number, `16Gi` and
`"10"` are strings, `{a: 1}` a mapping). A path the scenario does not have fails when the scenario is loaded, with
the one-line error that names the field.
"""
from __future__ import annotations

import argparse
from typing import Any


def add_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--set", type=assignment, action="append", default=[], metavar="PATH=VALUE",
                        help="set a scenario field to a YAML value, e.g. deployment.pods=3 or workload.0.users=20; "
                             "repeatable")


def assignment(text: str) -> tuple[str, Any]:
    import yaml  # only when a --set is given: --help stays quick

    path, equals, value = text.partition("=")
    if not equals or not path.strip():
        raise argparse.ArgumentTypeError(f"expected PATH=VALUE such as deployment.pods=3, got {text!r}")
    try:
        return path.strip(), yaml.safe_load(value)
    except yaml.YAMLError:
        raise argparse.ArgumentTypeError(f"expected a YAML value after '=', got {value!r}") from None
