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
moddir="${here}/gopeer"
out="${KUBETRACE_GOPEER_BIN:-${repo}/.build/bin/gopeer}"
force=0
[[ "${1:-}" == "--force" ]] && force=1

start=$(date +%s)

fresh() {
    [[ -x "${out}" ]] || return 1
    local src
    for src in "${moddir}/go.mod" "${moddir}/go.sum" "${moddir}"/*.go; do
        [[ "${out}" -nt "${src}" ]] || return 1
    done
}

if [[ ${force} -eq 0 ]] && fresh; then
    echo "build-gopeer: up to date: ${out} (0s)"
    exit 0
fi

if ! command -v go >/dev/null 2>&1; then
    echo "build-gopeer: 'go' not found on PATH; install Go >= 1.26 to build gopeer" >&2
    exit 127
fi

mkdir -p "$(dirname "${out}")"
case " ${GOFLAGS:-} " in
    *" -mod="*) ;;
    *) export GOFLAGS="${GOFLAGS:+${GOFLAGS} }-mod=mod" ;;
esac
case " ${GOFLAGS} " in
    *" -buildvcs="*) ;;
    *) export GOFLAGS="${GOFLAGS} -buildvcs=false" ;;
esac

cd "${moddir}"
versions="$(go list -m -f '{{.Path}}@{{.Version}}' \
    go.opentelemetry.io/otel \
    go.opentelemetry.io/contrib/instrumentation/google.golang.org/grpc/otelgrpc \
    google.golang.org/grpc | sed 's|.*/||' | tr '\n' ' ')"
echo "build-gopeer: building kubetrace.local/gopeer (${versions% }) with $(go version | awk '{print $3}') -> ${out}"
tmp="${out}.tmp.$$"
trap 'rm -f "${tmp}"' EXIT
go build -trimpath -ldflags "-s -w" -o "${tmp}" .
mv -f "${tmp}" "${out}"
trap - EXIT

end=$(date +%s)
echo "build-gopeer: built ${out} in $((end - start))s"
