"""The cluster port over the Kubernetes API, through the official `kubernetes` client, for one TorchServe Deployment.

Fidelity ledger (upstream: Kubernetes API 1.33, client `kubernetes` 37):
- Reads: the Deployment (spec/status replicas, selector), its pods by the selector (phase, Ready condition and its
  lastTransitionTime, startTime, deletionTimestamp, nodeName, podIP, the TorchServe container's requests/limits
  (what resize changes; the limits as the kubelet runs them, `status.containerStatuses[].resources`, so a Deferred
  or Infeasible resize is no room for workers), every container and init container by name with its requests and
  restartPolicy and the pod-level `spec.resources.requests` (what the HPA sums), in-place resize state from the
  `PodResizePending` (Deferred/Infeasible) and `PodResizeInProgress` conditions of 1.33, or the older
  `status.resize` field), nodes
  (pool label, Ready, creationTimestamp, allocatable, the pods on them with their requests as `PodRequests` sums
  them: init containers, sidecars, pod-level requests, overhead; read per node by the `spec.nodeName` field
  selector, never a list of every pod; where RBAC forbids listing pods cluster-wide, the namespace's pods only,
  so `requested` then counts this namespace's pods and no other), HPAs (autoscaling/v2), KEDA ScaledObjects
  (keda.sh/v1alpha1) and VPAs (autoscaling.k8s.io/v1) as plain dicts; a custom resource whose CRD is not installed
  lists as none (the API answers 404 for its path).
- Writes, one call each, a target state and never a delta: replicas through the `scale` subresource (merge patch),
  pod resources through the `resize` subresource (strategic merge by container name), ScaledObject fields (merge
  patch). Answers are parsed as JSON, not into the client's models, so an object with fields a model lacks still reads.
- Placeholders (deploy/placeholders.yaml), when named: that Deployment's spec.replicas and its pods (their requests
  summed over containers, spec.priority, status.nominatedNodeName); its replicas are written through its own scale
  subresource, as the serving Deployment's are. That is how nodes are asked for ahead of demand (the Cluster
  Autoscaler FAQ's overprovisioning): the cluster's own autoscaler adds the nodes for the placeholders it sees Pending.
- Not here: nodes. Adding or removing one is the cloud provider's autoscaler's job; `upcoming_nodes` is empty.
Every call has a timeout and is sent once (urllib3 may only reconnect before sending), so retrying is the caller's
choice; every failure is an `ApiFailure` (409 conflict, 429/5xx/timeouts retryable, other 4xx not).
"""
from __future__ import annotations

import dataclasses
import datetime
import email.utils
import json
from typing import Any, Callable, Mapping

import kubernetes.client
import kubernetes.config
import urllib3.exceptions
import urllib3.util

from twin.config.quantity import parse_quantity
from twin.errors import InputError
from twin.live.failures import ApiFailure, from_status
from twin.policies.pod_resources import Container, pod_requests
from twin.ports import NodeView, PodView

KEDA = ("keda.sh", "v1alpha1", "scaledobjects")
VPA = ("autoscaling.k8s.io", "v1", "verticalpodautoscalers")
MERGE = "application/merge-patch+json"
STRATEGIC = "application/strategic-merge-patch+json"
ACTIVE = "status.phase!=Succeeded,status.phase!=Failed"  # pods that hold their requests on a node


def api_client(*, kubeconfig: str | None = None, context: str | None = None) -> kubernetes.client.ApiClient:
    """A client from a kubeconfig file (and context), or from the pod's service account when none is given;
    an unusable one is an InputError."""
    configuration = kubernetes.client.Configuration()
    try:
        if kubeconfig:
            kubernetes.config.load_kube_config(config_file=kubeconfig, context=context,
                                               client_configuration=configuration)
        else:
            kubernetes.config.load_incluster_config(client_configuration=configuration)
    except kubernetes.config.ConfigException as error:
        source = kubeconfig or "in-cluster service account"
        expected = f"a kubeconfig with context {context!r}" if context else "a usable kubeconfig" if kubeconfig \
            else "to run in a pod (or cluster.kubeconfig in the settings)"
        raise InputError(source, "context" if context else "", expected, str(error)) from None
    # urllib3 would resend a GET after a read timeout (4 tries in all): one call would cost up to 4 timeouts, and
    # the gate's own retries would multiply. Reconnecting is harmless: nothing has been sent yet.
    configuration.retries = urllib3.util.Retry(total=2, connect=2, read=0, status=0, other=0, redirect=0)
    return kubernetes.client.ApiClient(configuration)


class KubernetesCluster:
    def __init__(self, client: kubernetes.client.ApiClient, *, namespace: str, deployment: str,
                 container: str | None = None, node_pool_label: str = "agentpool", timeout_s: float = 10.0,
                 placeholders: str | None = None) -> None:
        self.namespace = namespace
        self.deployment = deployment
        self.placeholders = placeholders  # the placeholder Deployment's name
        self.container = container
        self.node_pool_label = node_pool_label
        self.timeout_s = timeout_s
        self.node_pods_namespaced = False  # set once RBAC forbids listing pods cluster-wide
        self.core = kubernetes.client.CoreV1Api(client)
        self.apps = kubernetes.client.AppsV1Api(client)
        self.autoscaling = kubernetes.client.AutoscalingV2Api(client)
        self.custom = kubernetes.client.CustomObjectsApi(client)

    # -- reads ------------------------------------------------------------------------------------
    def deployment_object(self, name: str | None = None) -> dict:
        return self._call(self.apps.read_namespaced_deployment, name or self.deployment, self.namespace)

    def deployment_replicas(self) -> tuple[int, int]:
        deployment = self.deployment_object()
        return int(deployment["spec"].get("replicas", 1)), int(deployment.get("status", {}).get("replicas", 0))

    def pods(self) -> list[PodView]:
        return [self._pod(raw) for raw in self._raw_pods()]

    def pending_pods(self) -> list[PodView]:
        return [pod for pod in self.pods() if pod.node is None and not pod.deleting]

    def pod_ip(self, name: str) -> str | None:
        return next((raw.get("status", {}).get("podIP") for raw in self._raw_pods()
                     if raw["metadata"]["name"] == name), None)

    def nodes(self) -> list[NodeView]:
        listed = self._call(self.core.list_node)["items"]
        return [self._node(raw, self._pods_on(raw["metadata"]["name"])) for raw in listed]

    def placeholder_replicas(self) -> int:
        if self.placeholders is None:
            return 0
        return int(self.deployment_object(self.placeholders)["spec"].get("replicas", 1))

    def placeholder_pods(self) -> list[PodView]:
        if self.placeholders is None:
            return []
        return [_whole_pod(self._pod(raw)) for raw in self._raw_pods(self.placeholders)]

    def upcoming_nodes(self) -> Mapping[str, int]:
        return {}  # nodes being provisioned are the cloud provider's business; the API shows none

    def desired_memory_limit(self, pod: str) -> float | None:
        """The memory limit the pod's spec asks for (a resize write sets it); the kubelet may not run it yet."""
        spec = self._call(self.core.read_namespaced_pod, pod, self.namespace).get("spec", {})
        return _amounts(self._container(spec).get("resources", {}).get("limits", {})).get("memory")

    def hpas(self) -> list[dict]:
        return self._call(self.autoscaling.list_namespaced_horizontal_pod_autoscaler, self.namespace)["items"]

    def scaled_object(self, name: str) -> dict:
        group, version, plural = KEDA
        return self._call(self.custom.get_namespaced_custom_object, group, version, self.namespace, plural, name)

    def scaled_objects(self) -> list[dict]:
        return self._custom_list(KEDA)

    def vpas(self) -> list[dict]:
        return self._custom_list(VPA)

    # -- writes -----------------------------------------------------------------------------------
    def scale_deployment(self, replicas: int, *, name: str | None = None) -> None:
        self._call(self.apps.patch_namespaced_deployment_scale, name or self.deployment, self.namespace,
                   {"spec": {"replicas": int(replicas)}}, _content_type=MERGE)

    def scale_placeholders(self, replicas: int) -> None:
        if self.placeholders is None:
            raise ApiFailure("no placeholder Deployment named (cluster.placeholders in the settings)")
        self.scale_deployment(replicas, name=self.placeholders)

    def resize_pod(self, pod: str, requests: Mapping[str, float], limits: Mapping[str, float]) -> str:
        """Set the TorchServe container's resources in place; the pod's resize state after the call."""
        container = self.container or self._first_container(pod)
        body = {"spec": {"containers": [{"name": container, "resources": {
            "requests": {k: _quantity(k, v) for k, v in requests.items()},
            "limits": {k: _quantity(k, v) for k, v in limits.items()}}}]}}
        answer = self._call(self.core.patch_namespaced_pod_resize, pod, self.namespace, body, _content_type=STRATEGIC)
        return _resize_status(answer)

    def patch_scaled_object(self, name: str, patch: Mapping[str, Any]) -> None:
        group, version, plural = KEDA
        self._call(self.custom.patch_namespaced_custom_object, group, version, self.namespace, plural, name,
                   dict(patch), _content_type=MERGE)

    # -- plumbing ---------------------------------------------------------------------------------
    def _raw_pods(self, deployment: str | None = None) -> list[dict]:
        labels = self.deployment_object(deployment)["spec"]["selector"].get("matchLabels", {})
        selector = ",".join(f"{k}={v}" for k, v in labels.items())
        return self._call(self.core.list_namespaced_pod, self.namespace, label_selector=selector)["items"]

    def _custom_list(self, resource: tuple[str, str, str]) -> list[dict]:
        """A custom resource's objects in the namespace; none when its CRD is not installed (404)."""
        group, version, plural = resource
        try:
            return self._call(self.custom.list_namespaced_custom_object, group, version, self.namespace,
                              plural)["items"]
        except ApiFailure as error:
            if error.status == 404:
                return []
            raise

    def _pods_on(self, node: str) -> list[dict]:
        """The running pods on one node, by field selector (the kubelet's own query: the API server answers it from
        an index, not by sending every pod); in the namespace only once a cluster-wide list is forbidden (RBAC)."""
        selector = f"spec.nodeName={node},{ACTIVE}"
        if not self.node_pods_namespaced:
            try:
                return self._call(self.core.list_pod_for_all_namespaces, field_selector=selector)["items"]
            except ApiFailure as failure:
                if failure.status != 403:
                    raise
                self.node_pods_namespaced = True
        return self._call(self.core.list_namespaced_pod, self.namespace, field_selector=selector)["items"]

    def _first_container(self, pod: str) -> str:
        raw = self._call(self.core.read_namespaced_pod, pod, self.namespace)
        return raw["spec"]["containers"][0]["name"]

    def _call(self, method: Callable[..., Any], *args: Any, **kwargs: Any) -> dict:
        try:
            answer = method(*args, _preload_content=False, _request_timeout=self.timeout_s, **kwargs)
            return json.loads(answer.data or b"{}")
        except kubernetes.client.ApiException as error:
            raise from_status(f"{method.__name__}: {error.status} {_reason(error)}", error.status,
                              retry_after_s=_retry_after_s((error.headers or {}).get("Retry-After"))) from None
        except (urllib3.exceptions.HTTPError, OSError) as error:
            raise ApiFailure(f"{method.__name__}: no answer ({type(error).__name__})", retryable=True) from None

    def _pod(self, raw: dict) -> PodView:
        meta, spec, status = raw["metadata"], raw.get("spec", {}), raw.get("status", {})
        ready = _condition(status, "Ready")
        deleting = bool(meta.get("deletionTimestamp"))
        container = self._container(spec)
        resources = container.get("resources", {})
        running = _actuated(status, container.get("name"))
        return PodView(
            name=meta["name"], phase="Terminating" if deleting else status.get("phase", "Pending"),
            ready=ready is not None and ready.get("status") == "True", node=spec.get("nodeName"),
            start_time=_epoch(status.get("startTime")),
            ready_transition_time=_epoch((ready or {}).get("lastTransitionTime")) or 0.0, deleting=deleting,
            requests=_amounts(resources.get("requests", {})),
            limits=_amounts(running.get("limits", resources.get("limits", {}))),
            resize_status=_resize_status(raw), containers=_containers(spec.get("containers")),
            init_containers=_containers(spec.get("initContainers")), pod_requests=_pod_level(spec),
            priority=int(spec.get("priority") or 0), nominated_node=status.get("nominatedNodeName"),
            last_oom=_last_oom(status, container.get("name")))

    def _container(self, spec: dict) -> dict:
        containers = spec.get("containers", [])
        chosen = [c for c in containers if c.get("name") == self.container] if self.container else containers[:1]
        return chosen[0] if chosen else {}

    def _node(self, raw: dict, pods: list[dict]) -> NodeView:
        meta, status = raw["metadata"], raw.get("status", {})
        requested: dict[str, float] = {}
        for pod in pods:
            spec = pod["spec"]
            totals = pod_requests(_containers(spec.get("containers")), _containers(spec.get("initContainers")),
                                  pod_level=_pod_level(spec), overhead=_amounts(spec.get("overhead") or {}))
            requested = {kind: requested.get(kind, 0.0) + totals.get(kind, 0.0) for kind in {*requested, *totals}}
        ready = _condition(status, "Ready")
        return NodeView(name=meta["name"], pool=meta.get("labels", {}).get(self.node_pool_label, ""),
                        ready=ready is not None and ready.get("status") == "True",
                        created_at=_epoch(meta.get("creationTimestamp")) or 0.0,
                        allocatable=_amounts(status.get("allocatable", {})), requested=requested,
                        pods=tuple(p["metadata"]["name"] for p in pods))


def _whole_pod(view: PodView) -> PodView:
    """A placeholder's requests are its whole pod's (pause and any other container), not one container's."""
    return dataclasses.replace(view, requests=pod_requests(view.containers, view.init_containers,
                                                           pod_level=view.pod_requests))


def _condition(status: dict, kind: str) -> dict | None:
    return next((c for c in status.get("conditions", []) if c.get("type") == kind), None)


def _actuated(status: dict, name: str | None) -> dict:
    """The container's resources as the kubelet runs them (`status.containerStatuses[].resources`, 1.33); {} when
    the status does not say (older servers), and the spec stands in."""
    running = next((c for c in status.get("containerStatuses", []) if c.get("name") == name), {})
    return running.get("resources") or {}


def _last_oom(status: dict, name: str | None) -> tuple[float, float] | None:
    """The container's latest OOM kill, (startedAt, finishedAt) of state.terminated, else lastState.terminated, with
    reason OOMKilled: what the VPA's OOM observer and updater read (`oom/observer.go`,
    `update_priority_calculator.go`)."""
    for container in status.get("containerStatuses") or []:
        if container.get("name") != name:
            continue
        for state in (container.get("state"), container.get("lastState")):
            terminated = (state or {}).get("terminated") or {}
            times = _epoch(terminated.get("startedAt")), _epoch(terminated.get("finishedAt"))
            if terminated.get("reason") == "OOMKilled" and None not in times:
                return times
    return None


def _resize_status(raw: dict) -> str:
    status = raw.get("status", {})
    pending = _condition(status, "PodResizePending")
    if pending is not None and pending.get("status") == "True":
        return pending.get("reason", "Deferred")
    progress = _condition(status, "PodResizeInProgress")
    if progress is not None and progress.get("status") == "True":
        return "InProgress"
    return status.get("resize", "") or ""


def _containers(raw: list[dict] | None) -> tuple[Container, ...]:
    return tuple(Container(c.get("name", ""), _amounts(c.get("resources", {}).get("requests", {})),
                           c.get("restartPolicy")) for c in raw or [])


def _pod_level(spec: dict) -> dict[str, float] | None:
    requests = (spec.get("resources") or {}).get("requests")
    return _amounts(requests) if requests else None


def _amounts(quantities: Mapping[str, str]) -> dict[str, float]:
    return {name: parse_quantity(text) for name, text in quantities.items()}


def _quantity(name: str, value: float) -> str:
    """Bytes as a whole number, cores in millicores: the forms the API server keeps without rounding."""
    return f"{int(round(value * 1000))}m" if name == "cpu" else str(int(round(value)))


def _epoch(text: str | None) -> float | None:
    if not text:
        return None
    return datetime.datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def _retry_after_s(text: str | None) -> float | None:
    """Retry-After in seconds (RFC 9110: a number of seconds or an HTTP date); None when absent or unreadable."""
    if not text:
        return None
    try:
        return max(0.0, float(text))
    except ValueError:
        pass
    try:
        moment = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if moment.tzinfo is None:  # "-0000": UTC by RFC 5322
        moment = moment.replace(tzinfo=datetime.UTC)
    return max(0.0, (moment - datetime.datetime.now(datetime.UTC)).total_seconds())


def _reason(error: kubernetes.client.ApiException) -> str:
    try:
        return json.loads(error.body or "{}").get("message", error.reason)
    except (ValueError, AttributeError):
        return str(error.reason)
