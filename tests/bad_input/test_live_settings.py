"""Live settings (`servetwin live`, `servetwin replay --settings`): URLs, ports, timeouts, guardrails, kubeconfig.

Every case is refused while the settings load, before any client is built, so no cluster is needed.
"""
from __future__ import annotations

import pytest

from tests.bad_input.support import SCENARIO, SETTINGS, refused, write


def changed(old: str, new: str) -> str:
    assert old in SETTINGS
    return SETTINGS.replace(old, new)


GUARDRAILS = "guardrails: {namespaces: [serving], objects: [deployment/roberta]}"

# (id, settings file, what the line must name)
CASES = [
    ("url-not-http", changed("http://127.0.0.1:9090", "ftp://127.0.0.1:9090"), ("prometheus.url", "http(s)")),
    ("url-not-a-url", changed("http://127.0.0.1:9090", "prometheus"), ("prometheus.url",)),
    ("url-port-99999", changed("http://127.0.0.1:9090", "http://127.0.0.1:99999"), ("prometheus.url", "65535")),
    ("management-url-port", changed("torchserve: {model: roberta}", "torchserve: {model: roberta, management: "
                                                                    "'http://localhost:0'}"), ("management",)),
    ("management-port-99999", changed("torchserve: {model: roberta}", "torchserve: {model: roberta, "
                                                                      "management_port: 99999}"),
     ("management_port",)),
    ("timeout-inf", changed("prometheus: {url: http://127.0.0.1:9090}", "prometheus: {url: http://127.0.0.1:9090, "
                                                                        "timeout_s: .inf}"), ("timeout_s",)),
    ("tick-bool", SETTINGS + "tick_s: true\n", ("tick_s", "true/false")),
    ("shadow-horizon-absurd", SETTINGS + "shadow: {horizon_s: 1e300}\n", ("shadow.horizon_s",)),
    ("guardrails-min-replicas-above-max", changed(GUARDRAILS, GUARDRAILS[:-1] + ", min_replicas: 5, "
                                                                                "max_replicas: 2}"),
     ("guardrails.min_replicas", "max_replicas")),
    ("guardrails-min-workers-above-max", changed(GUARDRAILS, GUARDRAILS[:-1] + ", min_workers: 6, max_workers: 3}"),
     ("guardrails.min_workers",)),
    ("guardrails-object-without-kind", changed("objects: [deployment/roberta]", "objects: [roberta]"),
     ("guardrails.objects", "kind/name")),
    ("guardrails-memory-inf", changed(GUARDRAILS, GUARDRAILS[:-1] + ", max_memory_bytes: .inf}"),
     ("max_memory_bytes",)),
    ("guardrails-negative-interval", changed(GUARDRAILS, GUARDRAILS[:-1] + ", min_interval_s: -30}"),
     ("min_interval_s",)),
    ("duplicate-key", SETTINGS + "tick_s: 1\ntick_s: 2\n", ("tick_s", "each key once")),
    ("latin-1", changed("model: roberta", "model: rob\xe9rta").encode("latin-1"), ("UTF-8",)),
    ("deep", "x: " + "{a: " * 3000 + "1" + "}" * 3000 + "\n", ("nested",)),
]


@pytest.mark.parametrize("content, names", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_live_settings_are_refused_before_any_client(tmp_path, capsys, content, names):
    write(tmp_path, "scenario.yaml", SCENARIO)
    write(tmp_path, "live.yaml", content)
    refused(tmp_path, ["live", "live.yaml", "--duration", "1"], capsys, names=("live.yaml", *names))


@pytest.mark.parametrize("make, names", [
    (lambda folder: (folder / "kubeconfig").mkdir(), ("cluster.kubeconfig", "a directory")),
    (lambda folder: write(folder, "kubeconfig", "just a string\n"), ("kubeconfig", "a kubeconfig")),
    (lambda folder: write(folder, "kubeconfig", b"\x00\x01binary"), ("cluster.kubeconfig", "binary")),
    (lambda folder: write(folder, "kubeconfig", "clusters: [\n"), ("cluster.kubeconfig", "YAML")),
])
def test_a_kubeconfig_that_is_a_folder_or_not_yaml_is_one_line(tmp_path, capsys, make, names):
    write(tmp_path, "scenario.yaml", SCENARIO)
    make(tmp_path)
    write(tmp_path, "live.yaml", changed("deployment: roberta}", "deployment: roberta, kubeconfig: kubeconfig}"))
    refused(tmp_path, ["live", "live.yaml", "--duration", "1"], capsys, names=names)


@pytest.mark.parametrize("make, names", [
    (lambda folder: (folder / "keys.json").mkdir(), ("live.yaml:3:", "torchserve.token_file", "a directory")),
    (lambda folder: write(folder, "keys.json", "{}\n"), ("torchserve.token_file", "key_file.json")),
    (lambda folder: write(folder, "keys.json", "inference=abc\n"), ("torchserve.token_file", "keys.json")),
])
def test_a_token_file_that_is_not_a_key_file_is_one_line(tmp_path, capsys, make, names):
    write(tmp_path, "scenario.yaml", SCENARIO)
    make(tmp_path)
    write(tmp_path, "live.yaml", changed("torchserve: {model: roberta}", "torchserve: {model: roberta, "
                                                                         "token_file: keys.json}"))
    refused(tmp_path, ["live", "live.yaml", "--duration", "1"], capsys, names=names)


def test_the_good_settings_load(tmp_path):
    from twin.live.settings import load_settings

    write(tmp_path, "scenario.yaml", SCENARIO)
    write(tmp_path, "kubeconfig", "apiVersion: v1\nkind: Config\nclusters: []\ncontexts: []\nusers: []\n")
    settings = load_settings(write(tmp_path, "live.yaml", changed("deployment: roberta}",
                                                                  "deployment: roberta, kubeconfig: kubeconfig}")))
    assert settings.prometheus.url == "http://127.0.0.1:9090"
