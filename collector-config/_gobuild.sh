# The steps every Go build script of the repository shares (build-jaeger.sh, build-otelcol.sh,
# interop/build-gopeer.sh): when a binary is fresh, which GOFLAGS a build needs, and how the
# binary is put in place. Sourced, never run; each message starts with the caller's ${tag}.

# fresh OUT SOURCE...: OUT is executable and newer than every SOURCE.
fresh() {
    local out="$1" src
    shift
    [[ -x "${out}" ]] || return 1
    for src in "$@"; do
        [[ "${out}" -nt "${src}" ]] || return 1
    done
}

# up_to_date OUT: say so (the callers then skip the build).
up_to_date() {
    echo "${tag}: up to date: $1 (0s)"
}

# require_go VERSION WHAT: exit 127 with how to fix it when there is no Go to build WHAT.
require_go() {
    if ! command -v go >/dev/null 2>&1; then
        echo "${tag}: 'go' not found on PATH; install Go >= $1 to build $2" >&2
        exit 127
    fi
}

# The caller's GOFLAGS are honoured; -mod=mod fills a fresh module cache from the proxy, and
# -buildvcs=false because the binaries do not depend on the repository's git state.
go_flags() {
    case " ${GOFLAGS:-} " in
        *" -mod="*) ;;
        *) export GOFLAGS="${GOFLAGS:+${GOFLAGS} }-mod=mod" ;;
    esac
    case " ${GOFLAGS} " in
        *" -buildvcs="*) ;;
        *) export GOFLAGS="${GOFLAGS} -buildvcs=false" ;;
    esac
}

# go_build_into OUT BUILD-ARG...: `go build -trimpath BUILD-ARG...` (in the current directory)
# into a temporary file renamed to OUT, so a reader never sees half a binary; reports the time
# since ${start}.
go_build_into() {
    local out="$1" tmp
    shift
    mkdir -p "$(dirname "${out}")"
    tmp="${out}.tmp.$$"
    trap "rm -f $(printf %q "${tmp}")" EXIT
    go build -trimpath -o "${tmp}" "$@"
    mv -f "${tmp}" "${out}"
    trap - EXIT
    echo "${tag}: built ${out} in $(($(date +%s) - start))s"
}
