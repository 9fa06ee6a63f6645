"""The Kubernetes manifests of the collector tier (collector-config/kustomization.yaml, k8s/),
built by kustomize's own API and checked by k8scheck: strict decoding into the k8s.io/api types
and the wiring between objects. Each broken copy below must be refused with the reason."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from backends import CONFIG_DIR, REPO_ROOT, TIER_DIR

pytestmark = pytest.mark.e2e

GO_MODULES = ("build", "otelcol", "k8scheck")


def _check(k8scheck: Path, directory: Path, *flags: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(k8scheck), *flags, str(directory)], capture_output=True, text=True, timeout=60, check=False
    )


def _objects(k8scheck: Path) -> list[dict]:
    proc = _check(k8scheck, CONFIG_DIR, "--print")
    assert proc.returncode == 0, proc.stderr
    return list(yaml.safe_load_all(proc.stdout))


def _find(objects: list[dict], kind: str, name: str) -> dict:
    return next(o for o in objects if o["kind"] == kind and o["metadata"]["name"].startswith(name))


def test_manifests_pass_the_check(k8scheck_bin):
    proc = _check(k8scheck_bin, CONFIG_DIR)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "k8scheck: 12 objects OK"


def test_manifests_hold_the_whole_topology(k8scheck_bin):
    objects = _objects(k8scheck_bin)
    kinds = sorted(
        (o["kind"], o["metadata"]["name"].rsplit("-", 1)[0]) for o in objects if o["kind"] == "ConfigMap"
    )
    assert [k for k, _ in kinds] == ["ConfigMap"] * 4
    assert {o["metadata"].get("namespace") for o in objects if o["kind"] != "Namespace"} == {"kubetrace"}
    agent = _find(objects, "DaemonSet", "kubetrace-agent")["spec"]["template"]["spec"]
    env = {e["name"]: e for e in agent["containers"][0]["env"]}
    assert env["K8S_NODE_NAME"]["valueFrom"]["fieldRef"]["fieldPath"] == "spec.nodeName"
    gateway_service = _find(objects, "Service", "kubetrace-gateway")
    assert gateway_service["spec"]["clusterIP"] == "None"
    assert _find(objects, "StatefulSet", "kubetrace-jaeger")["spec"]["volumeClaimTemplates"]


def test_configmaps_carry_the_tested_files_unchanged(k8scheck_bin):
    """The ConfigMaps are generated from the very files the loopback tests run."""
    objects = _objects(k8scheck_bin)
    sources = {
        "kubetrace-agent-config": [TIER_DIR / "agent.yaml", TIER_DIR / "resolver-dns.yaml"],
        "kubetrace-gateway-config": [TIER_DIR / "gateway.yaml"],
        "kubetrace-jaeger-config": [TIER_DIR / "jaeger.yaml", CONFIG_DIR / "sampling-strategies.json"],
        "example-api-tracing": [CONFIG_DIR / "tracing-service.yaml"],
    }
    for name, files in sources.items():
        data = _find(objects, "ConfigMap", name)["data"]
        assert data == {f.name: f.read_text() for f in files}, name


def test_service_tracing_config_is_valid_for_kubetrace(k8scheck_bin, tmp_path):
    """The file the example service mounts at KUBETRACE_CONFIG passes `kubetrace validate`."""
    objects = _objects(k8scheck_bin)
    pod = _find(objects, "Deployment", "example-api")["spec"]["template"]["spec"]
    container = pod["containers"][0]
    config_path = next(e["value"] for e in container["env"] if e["name"] == "KUBETRACE_CONFIG")
    mount = next(m for m in container["volumeMounts"] if config_path.startswith(m["mountPath"] + "/"))
    volume = next(v for v in pod["volumes"] if v["name"] == mount["name"])["configMap"]
    item = next(i for i in volume["items"] if i["path"] == config_path[len(mount["mountPath"]) + 1 :])
    mounted = tmp_path / "tracing.yaml"
    mounted.write_text(_find(objects, "ConfigMap", volume["name"])["data"][item["key"]])
    proc = subprocess.run(
        [sys.executable, "-m", "kubetrace_cli", "validate", str(mounted)],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "kubetrace-agent.kubetrace.svc:4317" in proc.stdout


BROKEN = {
    "unknown field": ("k8s/agent.yaml", "hostNetwork: true", "hostNetwrk: true", 'unknown field "spec.template.spec.hostNetwrk"'),
    "wrong type": ("k8s/gateway.yaml", "replicas: 3", "replicas: three", "replicas"),
    "unknown kind": ("k8s/namespace.yaml", "kind: Namespace", "kind: Namespaces", 'no kind "Namespaces"'),
    "selector": ("k8s/gateway.yaml", "        app.kubernetes.io/name: kubetrace-gateway\n        app.kubernetes.io/component: gateway", "        app.kubernetes.io/name: kubetrace-gw\n        app.kubernetes.io/component: gateway", "does not select its own pod template"),
    "service target port": ("k8s/jaeger.yaml", "targetPort: query\n", "targetPort: querry\n", "targetPort querry is not a containerPort"),
    "missing configmap": ("k8s/gateway.yaml", "name: kubetrace-gateway-config", "name: kubetrace-gw-config", "ConfigMap kubetrace-gw-config not in the build"),
    "unmounted config file": ("k8s/agent.yaml", "--config=/etc/kubetrace/resolver-dns.yaml", "--config=/etc/kubetrace/resolver-static.yaml", "not a file of ConfigMap"),
    "listen port": ("k8s/gateway.yaml", 'value: "8890"', 'value: "8891"', "listens on 8891, which is not a containerPort"),
    "gateway dns port": ("k8s/agent.yaml", 'name: KUBETRACE_GATEWAY_DNS_PORT\n              value: "4317"', 'name: KUBETRACE_GATEWAY_DNS_PORT\n              value: "4417"', "Service kubetrace/kubetrace-gateway has no port 4417"),
    "jaeger endpoint": ("k8s/gateway.yaml", "svc.cluster.local:4317", "svc.cluster.local:4319", "has no port 4319"),
    "tracing endpoint": ("tracing-service.yaml", "kubetrace-agent.kubetrace.svc:4317", "kubetrace-agnt.kubetrace.svc:4317", "no Service kubetrace/kubetrace-agnt"),
    "load restrictor": ("kustomization.yaml", "- tier/gateway.yaml", "- ../outside.yaml", "security; file"),
}  # fmt: skip


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_broken_manifests_are_refused(k8scheck_bin, tmp_path, case):
    copy = tmp_path / "collector-config"
    shutil.copytree(CONFIG_DIR, copy, ignore=shutil.ignore_patterns(*GO_MODULES))
    (tmp_path / "outside.yaml").write_text("a: b\n")
    relative, old, new, reason = BROKEN[case]
    path = copy / relative
    assert path.read_text().count(old) == 1, f"{relative}: {old!r} should occur once"
    path.write_text(path.read_text().replace(old, new))

    proc = _check(k8scheck_bin, copy)

    assert proc.returncode == 1, proc.stdout
    assert reason in proc.stderr, proc.stderr
