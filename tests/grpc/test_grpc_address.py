"""server.* and client.* attributes from every target and peer form gRPC uses."""

from __future__ import annotations

import pytest

from interceptors.grpc._address import client_attributes, server_attributes

TARGETS = {
    "host:port": ("localhost:50051", {"server.address": "localhost", "server.port": 50051}),
    "dns scheme": (
        "dns:///etcd.kube-system:2379",
        {"server.address": "etcd.kube-system", "server.port": 2379},
    ),
    "dns with resolver": (
        "dns://8.8.8.8/api.example:443",
        {"server.address": "api.example", "server.port": 443},
    ),
    "ipv4 list": ("ipv4:10.0.0.1:80,10.0.0.2:80", {"server.address": "10.0.0.1", "server.port": 80}),
    "ipv6": ("ipv6:[::1]:50051", {"server.address": "::1", "server.port": 50051}),
    "bracketed ipv6": ("[2001:db8::1]:443", {"server.address": "2001:db8::1", "server.port": 443}),
    "bare ipv6": ("2001:db8::1", {"server.address": "2001:db8::1"}),
    "no port": ("containerd", {"server.address": "containerd"}),
    "unix socket": (
        "unix:///run/containerd/containerd.sock",
        {"server.address": "/run/containerd/containerd.sock"},
    ),
    "unix relative": ("unix:cri.sock", {"server.address": "cri.sock"}),
    "unix abstract": ("unix-abstract:kubelet", {"server.address": "kubelet"}),
    "bytes, as grpc keeps it": (b"127.0.0.1:9", {"server.address": "127.0.0.1", "server.port": 9}),
    "none": (None, {}),
}


@pytest.mark.parametrize(("target", "expected"), TARGETS.values(), ids=TARGETS.keys())
def test_server_attributes(target, expected):
    assert server_attributes(target) == expected


PEERS = {
    "ipv4": ("ipv4:127.0.0.1:40000", {"client.address": "127.0.0.1", "client.port": 40000}),
    "ipv6": ("ipv6:[::1]:40000", {"client.address": "::1", "client.port": 40000}),
    "unix": ("unix:/tmp/s.sock", {"client.address": "/tmp/s.sock"}),
    "empty": ("", {}),
}


@pytest.mark.parametrize(("peer", "expected"), PEERS.values(), ids=PEERS.keys())
def test_client_attributes(peer, expected):
    assert client_attributes(peer) == expected
