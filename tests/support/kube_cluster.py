"""KMock as the Kubernetes API server of the live tests, on loopback, driven through the official client.

KMock's emulator stores objects and serves the generic create/read/list/patch/delete URLs; it runs no controllers and
treats a patch to a subresource as a patch of its parent. This module adds what the live adapter needs of a real API
server and what the tests need to break it:
- `deployments/{name}/scale`: GET answers an autoscaling/v1 Scale built from the Deployment; PATCH sets only the
  Deployment's spec.replicas, and answers the Scale.
- `pods/{name}/resize`: PATCH merges container resources by container name (a strategic merge), then the pod shows
  the outcome the test chose: applied, or a `PodResizePending` condition with reason Deferred or Infeasible.
- a test-side "Deployment controller" (`reconcile()`): status.replicas and the pod set follow spec.replicas.
- faults: the next N requests matching a method and a path pattern answer 409, 429 (with Retry-After), 500, or hang
  past the client's timeout; a faulted request changes nothing, as on a real API server. A "lost" fault is the
  other half of a timeout: the request is applied, and its answer comes only after the client gave up.
- equality label selectors and field selectors on lists (KMock lists every object of a resource); HPAs listed even
  when there are none (a built-in resource; KMock answers 404 for resources it has no object of).
- `writes()`: every write request received (method, path), to prove a mode sent none.
"""
from __future__ import annotations

import asyncio
import copy
import datetime
import re
import threading
from dataclasses import dataclass

import aiohttp.web
import kmock
import kubernetes.client

APPS = kmock.resource("apps", "v1", "deployments")
PODS = kmock.resource("", "v1", "pods")
NODES = kmock.resource("", "v1", "nodes")
HPAS = kmock.resource("autoscaling", "v2", "horizontalpodautoscalers")
SCALED_OBJECTS = kmock.resource("keda.sh", "v1alpha1", "scaledobjects")
WRITES = ("POST", "PUT", "PATCH", "DELETE")


@dataclass
class Fault:
    method: str
    path: re.Pattern
    status: int | str  # an HTTP status, "hang" (nothing applied, no answer) or "lost" (applied, no answer)
    remaining: int
    retry_after_s: int | str | None = None  # the Retry-After header: seconds, or an HTTP date


class Emulator(kmock.KubernetesEmulator):
    """KMock's emulator with the scale and resize subresources and fault injection (see the module docstring)."""

    def setup(self) -> None:
        self.faults: list[Fault] = []
        self.resize_outcome = ""  # "" (applied) | Deferred | Infeasible
        self.hang_s = 5.0
        self.resources[HPAS] = {}  # built in (autoscaling/v2): an API server lists none rather than answering 404

    async def _handle(self, request):
        fault = self._take_fault(request)
        if fault is not None and fault.status != "lost":
            return await self._fail(fault)
        answer = await self._route(request)
        if fault is not None:  # "lost": applied, but the answer comes only after the client gave up waiting
            await asyncio.sleep(self.hang_s)
        return answer

    async def _route(self, request):
        if request.subresource == "scale" and request.resource == APPS:
            return await self._scale(request)
        if request.subresource == "resize" and request.resource == PODS:
            return await self._resize(request)
        return await super()._handle(request)

    async def _serve_list(self, request):
        """KMock lists every object of a resource; an API server applies equality label selectors and field
        selectors (`path=value`, `path!=value`)."""
        listed = await super()._serve_list(request)
        wanted = dict(term.split("=", 1) for term in request.params.get("labelSelector", "").split(",") if term)
        fields = [term for term in request.params.get("fieldSelector", "").split(",") if term]
        listed["items"] = [item for item in listed["items"]
                           if all(item["metadata"].get("labels", {}).get(k) == v for k, v in wanted.items())
                           and all(_field_matches(item, term) for term in fields)]
        return listed

    def _take_fault(self, request) -> Fault | None:
        for fault in self.faults:
            if fault.remaining > 0 and request.method.value == fault.method and fault.path.search(request.url.path):
                fault.remaining -= 1
                return fault
        return None

    async def _fail(self, fault: Fault):
        if fault.status == "hang":
            await asyncio.sleep(self.hang_s)
            return aiohttp.web.json_response({}, status=504)
        headers = {"Retry-After": str(fault.retry_after_s)} if fault.retry_after_s is not None else None
        reason = {409: "Conflict", 429: "TooManyRequests", 500: "InternalError"}.get(fault.status, "Error")
        body = {"apiVersion": "v1", "kind": "Status", "status": "Failure", "code": fault.status, "reason": reason,
                "message": f"injected {fault.status}"}
        return aiohttp.web.json_response(body, status=fault.status, headers=headers)

    async def _scale(self, request):
        key = (APPS, request.namespace, request.name)
        async with self._lock:
            if key not in self.objects:
                return aiohttp.web.json_response({"kind": "Status", "code": 404, "reason": "NotFound"}, status=404)
            deployment = self.objects[key]
            if request.method.value == "PATCH":
                replicas = (request.data or {}).get("spec", {}).get("replicas")
                if replicas is not None:
                    deployment.patch({"spec": {"replicas": int(replicas)}})
            raw = deployment.raw
        return aiohttp.web.json_response(_scale_of(raw))

    async def _resize(self, request):
        key = (PODS, request.namespace, request.name)
        async with self._lock:
            pod = copy.deepcopy(self.objects[key].raw)
            by_name = {c["name"]: c for c in pod["spec"]["containers"]}
            for change in (request.data or {}).get("spec", {}).get("containers", []):
                resources = by_name[change["name"]].setdefault("resources", {})
                for kind in ("requests", "limits"):
                    resources.setdefault(kind, {}).update(change.get("resources", {}).get(kind, {}))
            conditions = [c for c in pod["status"].get("conditions", []) if not c["type"].startswith("PodResize")]
            if self.resize_outcome:
                conditions.append({"type": "PodResizePending", "status": "True", "reason": self.resize_outcome})
            else:
                for container in pod["status"].get("containerStatuses", []):
                    container["resources"] = copy.deepcopy(by_name[container["name"]].get("resources", {}))
            pod["status"]["conditions"] = conditions
            self.objects[key].patch({"spec": {"containers": pod["spec"]["containers"]}, "status": pod["status"]})
            raw = self.objects[key].raw
        return aiohttp.web.json_response(raw)


def _field_matches(item: dict, term: str) -> bool:
    path, negated, value = re.fullmatch(r"([\w.]+?)(!?)==?(.*)", term).groups()
    node = item
    for part in path.split("."):
        node = node.get(part) if isinstance(node, dict) else None
    return (str(node or "") == value) != bool(negated)


def _scale_of(deployment: dict) -> dict:
    meta = deployment["metadata"]
    return {"apiVersion": "autoscaling/v1", "kind": "Scale",
            "metadata": {"name": meta["name"], "namespace": meta["namespace"]},
            "spec": {"replicas": deployment["spec"].get("replicas", 1)},
            "status": {"replicas": deployment.get("status", {}).get("replicas", 0),
                       "selector": ",".join(f"{k}={v}" for k, v in
                                            deployment["spec"]["selector"]["matchLabels"].items())}}


class KubeApi:
    """KMock served from a background thread's event loop; use as a context manager."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.emulator: Emulator | None = None
        self.url = ""

    def __enter__(self) -> "KubeApi":
        self._thread.start()
        self._call(self._start())
        return self

    def __exit__(self, *exc: object) -> None:
        self._call(self._stop())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout=5)

    async def _start(self) -> None:
        self.emulator = Emulator()
        self.emulator.setup()
        await self.emulator.__aenter__()
        self._server = kmock.Server(self.emulator)
        await self._server.__aenter__()
        self.url = str(self._server.url).rstrip("/")

    async def _stop(self) -> None:
        await self._server.__aexit__(None, None, None)
        await self.emulator.__aexit__(None, None, None)

    def _call(self, coroutine):
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout=30)

    def client(self, *, timeout_s: float = 2.0) -> kubernetes.client.ApiClient:
        configuration = kubernetes.client.Configuration(host=self.url)
        configuration.retries = 0  # a fault must reach the code under test, not urllib3's own retries
        return kubernetes.client.ApiClient(configuration)

    # -- state ------------------------------------------------------------------------------------
    def put(self, resource, namespace: str | None, name: str, body: dict) -> None:
        async def put() -> None:
            async with self.emulator._lock:
                self.emulator.objects[resource, namespace, name] = body
        self._call(put())

    def get(self, resource, namespace: str | None, name: str) -> dict:
        async def get() -> dict:
            async with self.emulator._lock:
                return copy.deepcopy(self.emulator.objects[resource, namespace, name].raw)
        return self._call(get())

    def patch(self, resource, namespace: str | None, name: str, changes: dict) -> None:
        async def patch() -> None:
            async with self.emulator._lock:
                self.emulator.objects[resource, namespace, name].patch(changes)
        self._call(patch())

    def delete(self, resource, namespace: str | None, name: str) -> None:
        async def delete() -> None:
            async with self.emulator._lock:
                self.emulator.objects[resource, namespace, name].delete()
        self._call(delete())

    def replicas_history(self, namespace: str, name: str) -> list[int]:
        """spec.replicas in every stored version of a Deployment, oldest first."""
        async def history() -> list[int]:
            async with self.emulator._lock:
                versions = self.emulator.objects[APPS, namespace, name].history
                return [v["spec"]["replicas"] for v in versions.raw if v is not None]
        return self._call(history())

    def requests(self) -> list[tuple[str, str]]:
        return [(r.method.value, r.url.path) for r in list(self.emulator)]

    def writes(self) -> list[tuple[str, str]]:
        return [(method, path) for method, path in self.requests() if method in WRITES]

    def inject(self, method: str, path: str, status: int | str, *, times: int = 1,
               retry_after_s: int | str | None = None) -> None:
        self.emulator.faults.append(Fault(method, re.compile(path), status, times, retry_after_s))


def now_rfc3339(offset_s: float = 0.0) -> str:
    moment = datetime.datetime.now(datetime.UTC) + datetime.timedelta(seconds=offset_s)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


# -- objects of a small TorchServe cluster ------------------------------------------------------------
def deployment(name: str, namespace: str, *, replicas: int, memory: str = "2Gi") -> dict:
    return {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": name, "namespace": namespace, "creationTimestamp": now_rfc3339(-3600)},
            "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": name}},
                     "template": {"metadata": {"labels": {"app": name}},
                                  "spec": {"containers": [_container(memory)]}}},
            "status": {"replicas": replicas, "readyReplicas": replicas}}


def pod(name: str, namespace: str, *, app: str, node: str | None, ready: bool = True, memory: str = "2Gi",
        ip: str = "127.0.0.1", started_s_ago: float = 600.0) -> dict:
    conditions = [{"type": "PodScheduled", "status": "True" if node else "False"},
                  {"type": "Ready", "status": "True" if ready else "False",
                   "lastTransitionTime": now_rfc3339(-started_s_ago + 5)}]
    status = {"phase": "Running" if node else "Pending", "conditions": conditions}
    if node:
        status |= {"podIP": ip, "startTime": now_rfc3339(-started_s_ago),
                   "containerStatuses": [{"name": "torchserve", "ready": ready, "restartCount": 0,
                                          "resources": _container(memory)["resources"]}]}
    spec = {"containers": [_container(memory)], **({"nodeName": node} if node else {})}
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {
        "name": name, "namespace": namespace, "labels": {"app": app}, "creationTimestamp": now_rfc3339(-started_s_ago)},
        "spec": spec, "status": status}


def node(name: str, *, pool: str, cpu: str = "16", memory: str = "64Gi", gpus: int = 0) -> dict:
    allocatable = {"cpu": cpu, "memory": memory, "pods": "110", **({"nvidia.com/gpu": str(gpus)} if gpus else {})}
    return {"apiVersion": "v1", "kind": "Node",
            "metadata": {"name": name, "labels": {"agentpool": pool}, "creationTimestamp": now_rfc3339(-86400)},
            "status": {"allocatable": allocatable, "capacity": allocatable,
                       "conditions": [{"type": "Ready", "status": "True"}]}}


def _container(memory: str) -> dict:
    return {"name": "torchserve", "image": "pytorch/torchserve:0.12.0-cpu",
            "resources": {"requests": {"cpu": "500m", "memory": memory}, "limits": {"memory": memory}}}


def reconcile(api: KubeApi, namespace: str, name: str, *, node_name: str, ip: str = "127.0.0.1") -> None:
    """The Deployment controller's part, on demand: pods `{name}-{i}` and status.replicas follow spec.replicas."""
    wanted = api.get(APPS, namespace, name)["spec"]["replicas"]
    have = sorted((n for (r, ns, n) in _names(api) if r == PODS and ns == namespace and n.startswith(f"{name}-")),
                  key=lambda n: int(n.rsplit("-", 1)[1]))
    for index in range(len(have), wanted):
        api.put(PODS, namespace, f"{name}-{index}", pod(f"{name}-{index}", namespace, app=name, node=node_name,
                                                         ip=ip, started_s_ago=1.0))
    for extra in have[wanted:]:
        api.delete(PODS, namespace, extra)
    if api.get(APPS, namespace, name).get("status", {}).get("replicas") != wanted:
        api.patch(APPS, namespace, name, {"status": {"replicas": wanted, "readyReplicas": wanted}})


def _names(api: KubeApi) -> list[tuple]:
    async def names() -> list[tuple]:
        async with api.emulator._lock:
            return [key for key, obj in api.emulator.objects.items() if not obj.deleted]
    return api._call(names())
