#!/usr/bin/env bash
# Build the Jaeger v2 binary (an OpenTelemetry Collector distribution) from its Go module.
#
#   collector-config/build-jaeger.sh [--force]
#
# Output: <repo>/.build/bin/jaeger (git-ignored). The version is pinned by the tool
# directive in collector-config/build/go.mod (+ go.sum); a binary newer than both is
# reused. `go install github.com/jaegertracing/jaeger/cmd/jaeger@vX` does not work
# because Jaeger's go.mod carries a `replace`; our module repeats it.
#
# Env: KUBETRACE_JAEGER_BIN overrides the output path; GOFLAGS is honoured
# (-mod=mod is added so a fresh module cache is filled from the proxy).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "${here}/.." && pwd)"
# shellcheck source=_gobuild.sh
source "${here}/_gobuild.sh"
tag=build-jaeger
moddir="${here}/build"
out="${KUBETRACE_JAEGER_BIN:-${repo}/.build/bin/jaeger}"
force=0
[[ "${1:-}" == "--force" ]] && force=1

start=$(date +%s)

if [[ ${force} -eq 0 ]] && fresh "${out}" "${moddir}/go.mod" "${moddir}/go.sum"; then
    up_to_date "${out}"
    exit 0
fi
require_go 1.24 Jaeger
go_flags

cd "${moddir}"
version="$(go list -m -f '{{.Version}}' github.com/jaegertracing/jaeger)"
echo "${tag}: building github.com/jaegertracing/jaeger/cmd/jaeger@${version} with $(go version | awk '{print $3}') -> ${out}"
# Jaeger's own release builds stamp these (scripts/makefiles/BuildInfo.mk); `jaeger version`
# then reports the Go module version (v1.X.0 is the same release as v2.(X-63).0).
pkg=github.com/jaegertracing/jaeger/internal/version
ldflags="-s -w -X ${pkg}.latestVersion=${version} -X ${pkg}.date=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
go_build_into "${out}" -ldflags "${ldflags}" github.com/jaegertracing/jaeger/cmd/jaeger
