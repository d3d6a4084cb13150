#!/usr/bin/env bash
# The test command (README, .ci/run): runs the whole workspace's tests with a PostgreSQL
# server for the store's conformance suite.
#
# PostgreSQL comes from, in order:
#   1. $TESSERA_TEST_DATABASE_URL, when set;
#   2. a server answering on 127.0.0.1:5432 (user postgres, trust auth);
#   3. a throwaway cluster started here with initdb/pg_ctl in a temporary directory (Debian's
#      postgresql package is installed first when it is missing and we are root), stopped and
#      removed on exit.
#
# Alibaba Cloud's official Python SDKs (crates/server/tests/compat_sdk.rs drives them against a
# real server) come from a virtualenv with the pinned crates/server/tests/compat_sdk/
# requirements.txt, kept in ~/.cache/tessera/pyenv-<hash of that file> so repeated runs reuse
# it (a fresh machine creates it with python3 -m venv and pip from PyPI); its interpreter is
# exported as TESSERA_TEST_PYTHON. An already set TESSERA_TEST_PYTHON is used as is.
#
# Extra arguments go to `cargo nextest run`.
set -euo pipefail
cd "$(dirname "$0")/.."

cluster_dir=""
cleanup() {
    if [[ -n "$cluster_dir" ]]; then
        as_pg "$pg_bin/pg_ctl" -D "$cluster_dir/data" -m immediate stop >/dev/null 2>&1 || true
        rm -rf "$cluster_dir"
    fi
}
trap cleanup EXIT

as_pg() {
    if [[ "$(id -u)" == 0 ]]; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

port_open() {
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

find_pg_bin() {
    local dir
    for dir in /usr/lib/postgresql/*/bin /usr/local/pgsql/bin; do
        if [[ -x "$dir/initdb" && -x "$dir/pg_ctl" ]]; then
            echo "$dir"
            return 0
        fi
    done
    if command -v initdb >/dev/null && command -v pg_ctl >/dev/null; then
        dirname "$(command -v initdb)"
        return 0
    fi
    return 1
}

start_throwaway_cluster() {
    if ! pg_bin="$(find_pg_bin)"; then
        if [[ "$(id -u)" == 0 ]] && command -v apt-get >/dev/null; then
            echo "tests/run.sh: installing PostgreSQL (Debian package postgresql)" >&2
            apt-get update -qq
            DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
            pg_bin="$(find_pg_bin)"
        else
            echo "tests/run.sh: no PostgreSQL found: set TESSERA_TEST_DATABASE_URL, run one on 127.0.0.1:5432, or install initdb/pg_ctl" >&2
            exit 1
        fi
    fi
    cluster_dir="$(mktemp -d /tmp/tessera-pg.XXXXXX)"
    chmod 755 "$cluster_dir"
    if [[ "$(id -u)" == 0 ]]; then
        chown postgres "$cluster_dir"
    fi
    local port=$((20000 + RANDOM % 20000))
    while port_open "$port"; do port=$((port + 1)); done
    as_pg "$pg_bin/initdb" -D "$cluster_dir/data" -U postgres -A trust -E UTF8 >/dev/null
    as_pg "$pg_bin/pg_ctl" -D "$cluster_dir/data" -w -l "$cluster_dir/server.log" \
        -o "-p $port -k $cluster_dir -c listen_addresses=127.0.0.1 -c max_connections=300 -c fsync=off" \
        start >/dev/null
    export TESSERA_TEST_DATABASE_URL="postgres://postgres@127.0.0.1:$port/postgres"
    echo "tests/run.sh: started a throwaway PostgreSQL on port $port" >&2
}

if [[ -z "${TESSERA_TEST_DATABASE_URL:-}" ]]; then
    if port_open 5432; then
        export TESSERA_TEST_DATABASE_URL="postgres://postgres@127.0.0.1:5432/postgres"
    else
        start_throwaway_cluster
    fi
fi

# The SDKs' virtualenv: created (or re-created when a previous attempt did not finish) only
# when the pinned requirements have no complete one yet.
python_sdks() {
    local requirements=crates/server/tests/compat_sdk/requirements.txt
    local digest
    digest="$(sha256sum "$requirements" | cut -c1-16)"
    local env="${XDG_CACHE_HOME:-$HOME/.cache}/tessera/pyenv-$digest"
    if [[ ! -f "$env/.complete" ]]; then
        local python
        python="$(command -v python3 || true)"
        if [[ -z "$python" ]] || ! "$python" -c 'import venv, ensurepip' 2>/dev/null; then
            if [[ "$(id -u)" == 0 ]] && command -v apt-get >/dev/null; then
                echo "tests/run.sh: installing python3 with venv (Debian packages)" >&2
                apt-get update -qq
                DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3 python3-venv >/dev/null
                python="$(command -v python3)"
            else
                echo "tests/run.sh: python3 with venv is needed for the Alibaba SDK tests" >&2
                exit 1
            fi
        fi
        echo "tests/run.sh: creating the Alibaba SDK virtualenv $env" >&2
        rm -rf "$env"
        mkdir -p "$(dirname "$env")"
        "$python" -m venv "$env"
        "$env/bin/python" -m pip install --quiet --disable-pip-version-check \
            --no-input -r "$requirements"
        touch "$env/.complete"
    fi
    export TESSERA_TEST_PYTHON="$env/bin/python"
}

if [[ -z "${TESSERA_TEST_PYTHON:-}" ]]; then
    python_sdks
fi

cargo nextest run --workspace "$@"
cargo test --workspace --doc
