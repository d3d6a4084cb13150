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

cargo nextest run --workspace "$@"
cargo test --workspace --doc
