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
moddir="${here}/build"
out="${KUBETRACE_JAEGER_BIN:-${repo}/.build/bin/jaeger}"
force=0
[[ "${1:-}" == "--force" ]] && force=1

start=$(date +%s)

if [[ ${force} -eq 0 && -x "${out}" && "${out}" -nt "${moddir}/go.mod" && "${out}" -nt "${moddir}/go.sum" ]]; then
    echo "build-jaeger: up to date: ${out} (0s)"
    exit 0
fi

if ! command -v go >/dev/null 2>&1; then
    echo "build-jaeger: 'go' not found on PATH; install Go >= 1.24 to build Jaeger" >&2
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
version="$(go list -m -f '{{.Version}}' github.com/jaegertracing/jaeger)"
echo "build-jaeger: building github.com/jaegertracing/jaeger/cmd/jaeger@${version} with $(go version | awk '{print $3}') -> ${out}"
# Jaeger's own release builds stamp these (scripts/makefiles/BuildInfo.mk); `jaeger version`
# then reports the Go module version (v1.X.0 is the same release as v2.(X-63).0).
pkg=github.com/jaegertracing/jaeger/internal/version
ldflags="-s -w -X ${pkg}.latestVersion=${version} -X ${pkg}.date=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
tmp="${out}.tmp.$$"
trap 'rm -f "${tmp}"' EXIT
go build -trimpath -ldflags "${ldflags}" -o "${tmp}" github.com/jaegertracing/jaeger/cmd/jaeger
mv -f "${tmp}" "${out}"
trap - EXIT

end=$(date +%s)
echo "build-jaeger: built ${out} in $((end - start))s"
