"""The request-info parser against real Kubernetes API paths, with kube-apiserver's answers (cases from
k8s.io/apiserver/pkg/endpoints/request/requestinfo_test.go plus paths kubectl and controllers use)."""

from __future__ import annotations

import pytest

from interceptors.k8s import parse_request_info

# method, path?query -> verb, group, version, namespace, resource, subresource, name, span path
# One case a line, as Kubernetes' own table has them (ruff format would spread each over ten).
# fmt: off
RESOURCE_REQUESTS = [
    ("GET", "/api/v1/namespaces", "list", "", "v1", "", "namespaces", "", "", "/api/v1/namespaces"),
    ("GET", "/api/v1/namespaces/other", "get", "", "v1", "other", "namespaces", "", "other", "/api/v1/namespaces/{:namespace}/namespaces/{:name}"),
    ("GET", "/api/v1/namespaces/other/pods", "list", "", "v1", "other", "pods", "", "", "/api/v1/namespaces/{:namespace}/pods"),
    ("GET", "/api/v1/namespaces/other/pods/foo", "get", "", "v1", "other", "pods", "", "foo", "/api/v1/namespaces/{:namespace}/pods/{:name}"),
    ("HEAD", "/api/v1/namespaces/other/pods/foo", "get", "", "v1", "other", "pods", "", "foo", "/api/v1/namespaces/{:namespace}/pods/{:name}"),
    ("GET", "/api/v1/pods", "list", "", "v1", "", "pods", "", "", "/api/v1/pods"),
    ("HEAD", "/api/v1/pods", "list", "", "v1", "", "pods", "", "", "/api/v1/pods"),
    # watches: the ?watch= parameter as Kubernetes parses booleans, and the legacy /watch/ path verb
    ("GET", "/api/v1/pods?watch=true", "watch", "", "v1", "", "pods", "", "", "/api/v1/pods"),
    ("GET", "/api/v1/pods?watch=false", "list", "", "v1", "", "pods", "", "", "/api/v1/pods"),
    ("GET", "/api/v1/namespaces/other/pods?watch=1", "watch", "", "v1", "other", "pods", "", "", "/api/v1/namespaces/{:namespace}/pods"),
    ("GET", "/api/v1/namespaces/other/pods?watch=0", "list", "", "v1", "other", "pods", "", "", "/api/v1/namespaces/{:namespace}/pods"),
    ("GET", "/api/v1/pods?watch", "watch", "", "v1", "", "pods", "", "", "/api/v1/pods"),
    ("GET", "/api/v1/pods?watch=FALSE", "list", "", "v1", "", "pods", "", "", "/api/v1/pods"),
    ("GET", "/api/v1/watch/pods", "watch", "", "v1", "", "pods", "", "", "/api/v1/pods"),
    ("GET", "/api/v1/watch/namespaces/other/pods", "watch", "", "v1", "other", "pods", "", "", "/api/v1/namespaces/{:namespace}/pods"),
    ("GET", "/api/v1/watch/namespaces/other/pods/foo", "watch", "", "v1", "other", "pods", "", "foo", "/api/v1/namespaces/{:namespace}/pods/{:name}"),
    ("GET", "/apis/apps/v1/namespaces/kube-system/deployments?watch=true&resourceVersion=42&allowWatchBookmarks=true&timeoutSeconds=300", "watch", "apps", "v1", "kube-system", "deployments", "", "", "/apis/apps/v1/namespaces/{:namespace}/deployments"),
    # proxy: a path verb without subresources
    ("GET", "/api/v1/proxy/namespaces/other/pods/foo", "proxy", "", "v1", "other", "pods", "", "foo", "/api/v1/namespaces/{:namespace}/pods/{:name}"),
    ("GET", "/api/v1/proxy/namespaces/other/pods/foo/subpath/not/a/subresource", "proxy", "", "v1", "other", "pods", "", "foo", "/api/v1/namespaces/{:namespace}/pods/{:name}"),
    # subresources
    ("GET", "/api/v1/namespaces/other/pods/foo/status", "get", "", "v1", "other", "pods", "status", "foo", "/api/v1/namespaces/{:namespace}/pods/{:name}/status"),
    ("GET", "/api/v1/namespaces/other/pods/foo/proxy/subpath", "get", "", "v1", "other", "pods", "proxy", "foo", "/api/v1/namespaces/{:namespace}/pods/{:name}/proxy"),
    ("GET", "/api/v1/namespaces/default/pods/web-0/log?container=app&follow=true", "get", "", "v1", "default", "pods", "log", "web-0", "/api/v1/namespaces/{:namespace}/pods/{:name}/log"),
    ("POST", "/api/v1/namespaces/default/pods/web-0/exec?command=sh&stdin=true&tty=true", "create", "", "v1", "default", "pods", "exec", "web-0", "/api/v1/namespaces/{:namespace}/pods/{:name}/exec"),
    ("POST", "/api/v1/namespaces/default/pods/web-0/eviction", "create", "", "v1", "default", "pods", "eviction", "web-0", "/api/v1/namespaces/{:namespace}/pods/{:name}/eviction"),
    ("PUT", "/api/v1/namespaces/other/finalize", "update", "", "v1", "other", "namespaces", "finalize", "other", "/api/v1/namespaces/{:namespace}/namespaces/{:name}/finalize"),
    ("PUT", "/api/v1/namespaces/other/status", "update", "", "v1", "other", "namespaces", "status", "other", "/api/v1/namespaces/{:namespace}/namespaces/{:name}/status"),
    ("PATCH", "/api/v1/nodes/node-1/status", "patch", "", "v1", "", "nodes", "status", "node-1", "/api/v1/nodes/{:name}/status"),
    ("PUT", "/apis/apps/v1/namespaces/x/deployments/y/scale", "update", "apps", "v1", "x", "deployments", "scale", "y", "/apis/apps/v1/namespaces/{:namespace}/deployments/{:name}/scale"),
    # verbs by method
    ("PATCH", "/api/v1/namespaces/other/pods/foo", "patch", "", "v1", "other", "pods", "", "foo", "/api/v1/namespaces/{:namespace}/pods/{:name}"),
    ("DELETE", "/api/v1/namespaces/other/pods/foo", "delete", "", "v1", "other", "pods", "", "foo", "/api/v1/namespaces/{:namespace}/pods/{:name}"),
    ("POST", "/api/v1/namespaces/other/pods", "create", "", "v1", "other", "pods", "", "", "/api/v1/namespaces/{:namespace}/pods"),
    ("OPTIONS", "/api/v1/pods", "", "", "v1", "", "pods", "", "", "/api/v1/pods"),
    # deletecollection
    ("DELETE", "/api/v1/nodes", "deletecollection", "", "v1", "", "nodes", "", "", "/api/v1/nodes"),
    ("DELETE", "/api/v1/namespaces", "deletecollection", "", "v1", "", "namespaces", "", "", "/api/v1/namespaces"),
    ("DELETE", "/api/v1/namespaces/other/pods", "deletecollection", "", "v1", "other", "pods", "", "", "/api/v1/namespaces/{:namespace}/pods"),
    ("DELETE", "/apis/extensions/v1/namespaces/other/pods", "deletecollection", "extensions", "v1", "other", "pods", "", "", "/apis/extensions/v1/namespaces/{:namespace}/pods"),
    # groups, versions, cluster-scoped resources, custom resources
    ("POST", "/apis/extensions/v1beta3/namespaces/other/pods", "create", "extensions", "v1beta3", "other", "pods", "", "", "/apis/extensions/v1beta3/namespaces/{:namespace}/pods"),
    ("GET", "/apis/rbac.authorization.k8s.io/v1/clusterroles/admin", "get", "rbac.authorization.k8s.io", "v1", "", "clusterroles", "", "admin", "/apis/rbac.authorization.k8s.io/v1/clusterroles/{:name}"),
    ("PUT", "/apis/coordination.k8s.io/v1/namespaces/kube-system/leases/kube-scheduler", "update", "coordination.k8s.io", "v1", "kube-system", "leases", "", "kube-scheduler", "/apis/coordination.k8s.io/v1/namespaces/{:namespace}/leases/{:name}"),
    ("GET", "/apis/stable.example.com/v1/namespaces/default/crontabs/my-cron", "get", "stable.example.com", "v1", "default", "crontabs", "", "my-cron", "/apis/stable.example.com/v1/namespaces/{:namespace}/crontabs/{:name}"),
    ("GET", "/api/v1/nodes", "list", "", "v1", "", "nodes", "", "", "/api/v1/nodes"),
    ("GET", "/apis/batch/v1/job/foo/scale", "get", "batch", "v1", "", "job", "scale", "foo", "/apis/batch/v1/job/{:name}/scale"),
    ("GET", "/api/version/resource/name/subresource", "get", "", "version", "", "resource", "subresource", "name", "/api/version/resource/{:name}/subresource"),
]
# fmt: on
# clean_ids: readable test ids
RESOURCE_IDS = [f"{c[0]} {c[1]}" for c in RESOURCE_REQUESTS]


@pytest.mark.parametrize("case", RESOURCE_REQUESTS, ids=RESOURCE_IDS)
def test_resource_requests_match_kube_apiserver(case):
    method, target, verb, group, version, namespace, resource, subresource, name, span_path = case
    path, _, query = target.partition("?")
    info = parse_request_info(path, method, query)
    assert info is not None
    got = (
        info.verb,
        info.api_group,
        info.api_version,
        info.namespace,
        info.resource,
        info.subresource,
        info.name,
    )
    assert got == (verb, group, version, namespace, resource, subresource, name)
    assert info.path_template == span_path


@pytest.mark.parametrize(
    "path",
    [
        "/",
        "",
        "/healthz",
        "/livez/ping",
        "/readyz",
        "/version",
        "/metrics",
        "/openapi/v2",
        "/openapi/v3/apis/apps/v1",
        "/api",
        "/api/v1",
        "/api/version/",
        "/apis",
        "/apis/apps",
        "/apis/apps/v1",
        "/apis/extensions/v1beta1/",
        "/apis/version/resource",  # missing api group
        "/badprefix/version/resource",
        "/not-api/version/resource",
        "/api/v1/watch",  # kube-apiserver rejects it: no kind to watch
        "/.well-known/openid-configuration",
    ],
)
def test_non_resource_urls_are_not_resource_requests(path):
    assert parse_request_info(path, "GET") is None


# method, path?query -> name, verb, field selector, label selector
# fmt: off
SELECTOR_REQUESTS = [
    ("GET", "/apis/group/version/resource", "", "list", "", ""),
    ("GET", "/apis/group/version/resource?fieldSelector=metadata.name=name1", "name1", "list", "metadata.name=name1", ""),
    ("GET", "/apis/group/version/resource?watch=true&fieldSelector=metadata.name%3Dname1", "name1", "watch", "metadata.name=name1", ""),
    ("GET", "/apis/group/version/resource?fieldSelector=metadata.name==name1", "name1", "list", "metadata.name==name1", ""),
    ("GET", "/apis/group/version/resource?fieldSelector=foo=bar&labelSelector=baz=qux", "", "list", "foo=bar", "baz=qux"),
    ("GET", "/apis/group/version/resource?fieldSelector=metadata.name=name1,foo", "", "list", "metadata.name=name1,foo", ""),
    ("GET", "/apis/group/version/resource?fieldSelector=metadata.name=name1,foo&watch=true", "", "watch", "metadata.name=name1,foo", ""),
    ("GET", "/apis/group/version/resource?fieldSelector=metadata.name!=name1", "", "list", "metadata.name!=name1", ""),
    ("GET", "/apis/group/version/resource?fieldSelector=metadata.name=a/b", "", "list", "metadata.name=a/b", ""),
    ("GET", "/apis/group/version/resource?fieldSelector=metadata.name=name1&limit=abc", "", "list", "metadata.name=name1", ""),
    ("DELETE", "/apis/group/version/resource?fieldSelector=foo=bar&labelSelector=baz=qux", "", "deletecollection", "foo=bar", "baz=qux"),
    ("GET", "/apis/group/version/resource?fieldSelector=metadata.name=foo&fieldSelector=metadata.name=bar&labelSelector=foo=bar&labelSelector=foo=baz", "foo", "list", "metadata.name=foo", "foo=bar"),
    ("GET", "/apis/group/version/resource/name?fieldSelector=foo=bar&labelSelector=foo=bar", "name", "get", "", ""),
    ("GET", "/apis/group/version/watch/resource?fieldSelector=metadata.name=foo&labelSelector=foo=bar", "", "watch", "", ""),
    ("GET", "/apis/group/version/watch/resource/name?fieldSelector=metadata.name=foo&labelSelector=foo=bar", "name", "watch", "", ""),
]
# fmt: on


@pytest.mark.parametrize("method, target, name, verb, field_selector, label_selector", SELECTOR_REQUESTS)
def test_selectors_are_read_as_kube_apiserver_reads_them(
    method, target, name, verb, field_selector, label_selector
):
    path, _, query = target.partition("?")
    info = parse_request_info(path, method, query)
    assert (info.name, info.verb, info.field_selector, info.label_selector) == (
        name,
        verb,
        field_selector,
        label_selector,
    )
