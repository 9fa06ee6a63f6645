#!/usr/bin/env bash
# Regenerate the gRPC modules of the examples (examples/_generated) from examples/protos/*.proto.
#
#   examples/regenerate.sh            (needs grpcio-tools: pip install -e ".[dev]")
#
# protoc's Python plugin makes a *_pb2_grpc module import its *_pb2 module by bare name; the sed
# below makes that import package-relative, so `from _generated import cri_pb2_grpc` works from any
# script in examples/ (Python puts a script's own directory on sys.path) without touching sys.path.
# tests/demo/test_examples_protos.py checks that the committed modules match the protos.
set -euo pipefail
cd "$(dirname "$0")"
rm -f _generated/*_pb2.py _generated/*_pb2_grpc.py _generated/*_pb2.pyi
python -m grpc_tools.protoc \
    --proto_path=protos \
    --python_out=_generated --pyi_out=_generated --grpc_python_out=_generated \
    protos/storage.proto protos/cri.proto
sed -i.bak -E 's/^import ([a-z_]+_pb2) as /from . import \1 as /' _generated/*_pb2_grpc.py
rm -f _generated/*.bak
