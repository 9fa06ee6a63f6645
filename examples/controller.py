"""controller: reconciles every pod it sees, one span per reconcile, as an operator does.

    APISERVER_URL=http://127.0.0.1:8080 python examples/controller.py

Lists, then watches, all pods with the official kubernetes client, and reconciles each pod it is
told about: it reads the pod's latest version from the apiserver (a reconcile works on the current
state, not on the event) and prints `RECONCILED namespace/name phase`. Prints `WATCHING pods` once it
watches.

Tracing takes three lines: tracing.setup(); instrument_pool_manager on the kubernetes client; and
@reconciler("pod-reporter") on the reconcile function, which makes each reconcile one span. The pod
carries the trace of whoever wrote it (kubectl's apply writes kubetrace.io/traceparent): the
reconcile starts a trace of its own, linked to that one, so a reconcile leads back to the request
that caused it without joining it (pass trust_policy=TRUST_ALL to continue it instead).
"""

from __future__ import annotations

import os
import signal

from kubernetes import client, watch

import tracing
from interceptors.http import instrument_pool_manager
from interceptors.k8s import reconciler


def controller(core: client.CoreV1Api):
    @reconciler("pod-reporter")
    def reconcile(pod: client.V1Pod) -> str:
        latest = core.read_namespaced_pod(pod.metadata.name, pod.metadata.namespace)
        phase = latest.status.phase if latest.status else "Unknown"
        print(f"RECONCILED {latest.metadata.namespace}/{latest.metadata.name} {phase}", flush=True)
        return phase

    return reconcile


def run(core: client.CoreV1Api) -> None:
    reconcile = controller(core)
    pods = core.list_pod_for_all_namespaces()
    for pod in pods.items:
        reconcile(pod)
    print("WATCHING pods", flush=True)
    for event in watch.Watch().stream(
        core.list_pod_for_all_namespaces, resource_version=pods.metadata.resource_version
    ):
        if event["type"] != "DELETED":
            reconcile(event["object"])


def main() -> None:
    os.environ.setdefault("OTEL_SERVICE_NAME", "controller")
    tracing.setup()
    api = client.ApiClient(
        client.Configuration(host=os.environ.get("APISERVER_URL", "http://127.0.0.1:8080"))
    )
    instrument_pool_manager(api.rest_client.pool_manager)
    signal.signal(signal.SIGTERM, signal.default_int_handler)  # stop on SIGTERM as on Ctrl-C
    try:
        run(client.CoreV1Api(api))
    except KeyboardInterrupt:
        pass
    finally:
        tracing.shutdown()  # export the spans still queued


if __name__ == "__main__":
    main()
