# A throwaway PostgreSQL 15 (Debian's packages) for the PostgreSQL catalog's tests: a fresh
# cluster in a temporary directory, trust authentication on a free loopback port, run by an
# unprivileged account (CI runs as root; PostgreSQL refuses to). Stopped and removed at exit.
# Exports LRT_TEST_DATABASE_URL; tests make a schema or database of their own in it. Also
# LRT_TEST_PG_BIN, the binaries' directory (tests/common/pg_cluster.rs starts clusters of its own).
pg_bin=/usr/lib/postgresql/15/bin
if [ ! -x "$pg_bin/initdb" ]; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
fi
# tests/postgres_ops.rs makes its TLS certificates with the openssl command.
if ! command -v openssl >/dev/null; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq openssl >/dev/null
fi
pg_run() { "$@"; }
if [ "$(id -u)" = 0 ]; then
    id postgres >/dev/null 2>&1 || useradd --system --no-create-home --shell /usr/sbin/nologin postgres
    pg_run() { runuser -u postgres -- "$@"; }
fi
pg_dir="$(mktemp -d "$LRT_CI_DIR/postgres.XXXXXX")"
chmod 0755 "$pg_dir"
if ! pg_run test -w "$pg_dir" 2>/dev/null && [ "$(id -u)" = 0 ]; then
    chown postgres "$pg_dir"
fi
if ! pg_run test -w "$pg_dir" 2>/dev/null; then
    # The account cannot reach $LRT_CI_DIR (a private parent directory): use /tmp instead.
    rmdir "$pg_dir"
    pg_dir="$(mktemp -d /tmp/lrt-ci-postgres.XXXXXX)"
    [ "$(id -u)" = 0 ] && chown postgres "$pg_dir"
fi
pg_port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
pg_run "$pg_bin/initdb" -D "$pg_dir/data" -U lrt --auth=trust --encoding=UTF8 --locale=C.UTF-8 >"$pg_dir/initdb.log"
mkdir -p "$pg_dir/sock"
[ "$(id -u)" = 0 ] && chown postgres "$pg_dir/sock"
pg_run "$pg_bin/pg_ctl" -D "$pg_dir/data" -l "$pg_dir/server.log" -w -t 60 \
    -o "-p $pg_port -k $pg_dir/sock -c listen_addresses=127.0.0.1 -c max_connections=300 -c fsync=off" start >/dev/null
if [ "$(id -u)" = 0 ]; then
    ci_on_exit "runuser -u postgres -- '$pg_bin/pg_ctl' -D '$pg_dir/data' -m immediate stop >/dev/null; rm -rf '$pg_dir'"
else
    ci_on_exit "'$pg_bin/pg_ctl' -D '$pg_dir/data' -m immediate stop >/dev/null; rm -rf '$pg_dir'"
fi
pg_run "$pg_bin/createdb" -h 127.0.0.1 -p "$pg_port" -U lrt lrt_test
export LRT_TEST_DATABASE_URL="postgres://lrt@127.0.0.1:$pg_port/lrt_test"
# Tests that stop/start a server or change its TLS settings run a cluster of their own.
export LRT_TEST_PG_BIN="$pg_bin"
echo "PostgreSQL $("$pg_bin/postgres" --version | awk '{print $3}') on 127.0.0.1:$pg_port ($pg_dir)"
