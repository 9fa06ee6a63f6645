#!/usr/bin/env bash
# Build the Go programs of the collector tier from their pinned Go modules:
#   otelcol   kubetrace's OpenTelemetry Collector distribution (collector-config/otelcol)
#   k8scheck  the Kubernetes manifest checker (collector-config/k8scheck)
#
#   collector-config/build-otelcol.sh [--force] [otelcol] [k8scheck]     (default: both)
#
# Output: <repo>/.build/bin/NAME (git-ignored). A binary newer than its module's go.mod,
# go.sum and every *.go file is reused.
#
# Env: KUBETRACE_OTELCOL_BIN / KUBETRACE_K8SCHECK_BIN override the output paths; GOFLAGS is
# honoured (-mod=mod is added so a fresh module cache is filled from the proxy).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "${here}/.." && pwd)"
# shellcheck source=_gobuild.sh
source "${here}/_gobuild.sh"
tag=build-otelcol
force=0
names=()
for arg in "$@"; do
    case "${arg}" in
        --force) force=1 ;;
        otelcol | k8scheck) names+=("${arg}") ;;
        *) echo "${tag}: unknown argument ${arg}; want --force, otelcol, k8scheck" >&2; exit 2 ;;
    esac
done
[[ ${#names[@]} -gt 0 ]] || names=(otelcol k8scheck)

build() {
    local name="$1" moddir="${here}/$1" out="$2" start version
    start=$(date +%s)
    if [[ ${force} -eq 0 ]] && fresh "${out}" "${moddir}/go.mod" "${moddir}/go.sum" "${moddir}"/*.go; then
        up_to_date "${out}"
        return 0
    fi
    require_go 1.26 "${name}"
    # The collector release (otelcol) or the kustomize API version (k8scheck), for --version.
    case "${name}" in
        otelcol) version="$(cd "${moddir}" && go list -m -f '{{.Version}}' go.opentelemetry.io/collector/otelcol)" ;;
        *) version="$(cd "${moddir}" && go list -m -f '{{.Version}}' sigs.k8s.io/kustomize/api)" ;;
    esac
    echo "${tag}: building ${name} (${version}) with $(go version | awk '{print $3}') -> ${out}"
    (cd "${moddir}" && go_build_into "${out}" -ldflags "-s -w -X main.version=${version}" .)
}

go_flags
for name in "${names[@]}"; do
    case "${name}" in
        otelcol) build otelcol "${KUBETRACE_OTELCOL_BIN:-${repo}/.build/bin/otelcol}" ;;
        k8scheck) build k8scheck "${KUBETRACE_K8SCHECK_BIN:-${repo}/.build/bin/k8scheck}" ;;
    esac
done
