#!/usr/bin/env bash
# Build gopeer, the Go peer of the interop tests (interop/gopeer: otelgrpc, otelhttp and the
# contrib propagators, at the versions pinned in its go.mod + go.sum).
#
#   interop/build-gopeer.sh [--force]
#
# Output: <repo>/.build/bin/gopeer (git-ignored). A binary newer than go.mod, go.sum and every
# *.go file of the module is reused.
#
# Env: KUBETRACE_GOPEER_BIN overrides the output path; GOFLAGS is honoured
# (-mod=mod is added so a fresh module cache is filled from the proxy).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "${here}/.." && pwd)"
# shellcheck source=../collector-config/_gobuild.sh
source "${repo}/collector-config/_gobuild.sh"
tag=build-gopeer
moddir="${here}/gopeer"
out="${KUBETRACE_GOPEER_BIN:-${repo}/.build/bin/gopeer}"
force=0
[[ "${1:-}" == "--force" ]] && force=1

start=$(date +%s)

if [[ ${force} -eq 0 ]] && fresh "${out}" "${moddir}/go.mod" "${moddir}/go.sum" "${moddir}"/*.go; then
    up_to_date "${out}"
    exit 0
fi
require_go 1.26 gopeer
go_flags

cd "${moddir}"
versions="$(go list -m -f '{{.Path}}@{{.Version}}' \
    go.opentelemetry.io/otel \
    go.opentelemetry.io/contrib/instrumentation/google.golang.org/grpc/otelgrpc \
    google.golang.org/grpc | sed 's|.*/||' | tr '\n' ' ')"
echo "${tag}: building kubetrace.local/gopeer (${versions% }) with $(go version | awk '{print $3}') -> ${out}"
go_build_into "${out}" -ldflags "-s -w" .
