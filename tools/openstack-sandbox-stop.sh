#!/usr/bin/env bash
# Stop the Multicloud OpenStack sandbox started by tools/openstack-sandbox.sh.
#
#   tools/openstack-sandbox-stop.sh [STATE_DIR] [--purge]
#
# Signals only the process groups recorded in STATE_DIR/run (never matches by name):
# TERM, a bounded wait, then KILL. Stops RabbitMQ/PostgreSQL only if the start script
# started private ones. --purge also drops this state dir's databases and the RabbitMQ vhost
# and deletes STATE_DIR. (--only NAME stops one service; used by the start script.)
set -euo pipefail

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$SCRIPT_DIR/.." && pwd)
PURGE=0
ONLY=""
STATE=""
while [ $# -gt 0 ]; do
    case "$1" in
        --purge) PURGE=1 ;;
        --only) ONLY=$2; shift ;;
        -h|--help) sed -n '2,10p' "$0"; exit 0 ;;
        *) STATE=$1 ;;
    esac
    shift
done
STATE=${STATE:-$REPO/.sandbox/state}
RUN="$STATE/run"
WAIT_SECS=${OSBOX_STOP_WAIT_SECS:-20}
HOST=127.0.0.1

say() { printf '[osbox-stop] %s\n' "$*" >&2; }

if [ ! -d "$STATE" ]; then
    say "no state dir $STATE; nothing to stop"
    exit 0
fi

# group_alive PGID: true while a live (non-zombie) process of that process group exists.
# Zombies are ignored: they hold no port and init reaps them, but kill -0 still sees them.
group_alive() {
    ps -e -o pgid=,stat= | awk -v g="$1" '$1 == g && $2 !~ /^Z/ { found = 1 } END { exit !found }'
}

stop_groups() {
    local pidfiles=("$@") pgids=() f pid deadline
    for f in "${pidfiles[@]}"; do
        [ -s "$f" ] || { rm -f "$f"; continue; }
        pid=$(cat "$f")
        # each service was started with setsid, so its pid is its process group id;
        # check that before signalling the group (a stale file must not hit a reused pid)
        if [ "$(ps -o pgid= -p "$pid" 2>/dev/null | tr -d ' ')" = "$pid" ]; then
            kill -TERM -- "-$pid" 2>/dev/null || true
            pgids+=("$pid")
        fi
    done
    deadline=$(( $(date +%s) + WAIT_SECS ))
    for pid in "${pgids[@]}"; do
        while group_alive "$pid" && [ "$(date +%s)" -lt "$deadline" ]; do sleep 0.2; done
        if group_alive "$pid"; then
            say "process group $pid ignored TERM for ${WAIT_SECS}s; sending KILL"
            kill -KILL -- "-$pid" 2>/dev/null || true
            sleep 0.5
        fi
    done
    rm -f "${pidfiles[@]}"
}

if [ -n "$ONLY" ]; then
    stop_groups "$RUN/$ONLY.pid"
    exit 0
fi

OWN_MQ=0
[ -f "$RUN/own-rabbitmq" ] && OWN_MQ=1
shopt -s nullglob
pidfiles=("$RUN"/*.pid)
if [ ${#pidfiles[@]} -gt 0 ]; then
    say "stopping ${#pidfiles[@]} service(s): $(cd "$RUN" && ls -- *.pid | sed 's/\.pid$//' | tr '\n' ' ')"
    stop_groups "${pidfiles[@]}"
fi

# A private RabbitMQ (only when the start script had to start its own). rabbitmq-server
# drops privileges with su, which puts beam.smp in a session of its own, so the group
# signal above does not reach it: stop the node, then wait for the pid it wrote.
if [ "$OWN_MQ" = 1 ]; then
    read -r node epmd_before < "$RUN/own-rabbitmq"
    beam=$(cat "$STATE/rabbitmq/rabbit.pid" 2>/dev/null || true)
    if [ -n "$beam" ] && kill -0 "$beam" 2>/dev/null; then
        timeout 30 rabbitmqctl -q -n "$node" stop >/dev/null 2>&1 || true
        deadline=$(( $(date +%s) + WAIT_SECS ))
        while kill -0 "$beam" 2>/dev/null && [ "$(date +%s)" -lt "$deadline" ]; do sleep 0.2; done
        kill -KILL "$beam" 2>/dev/null || true
    fi
    if [ "${epmd_before:-1}" = 0 ] && command -v epmd >/dev/null \
            && ! epmd -names 2>/dev/null | grep -q 'at port'; then
        epmd -kill >/dev/null 2>&1 || true  # our node started epmd and no node uses it now
    fi
    rm -f "$RUN/own-rabbitmq"
    say "stopped the private RabbitMQ $node"
fi

# Purge shared-server objects before a private PostgreSQL goes away.
if [ "$PURGE" = 1 ]; then
    if [ -f "$RUN/own-postgres" ]; then
        PG_PORT=${OSBOX_OWN_PG_PORT:-5433}
    else
        PG_PORT=${OSBOX_PG_PORT:-5432}
    fi
    if [ ! -f "$RUN/own-postgres" ] || [ -S "$STATE/pg/sock/.s.PGSQL.$PG_PORT" ]; then
        # the databases this state dir created carry its path as their comment
        dbs=$(psql -X -h "$HOST" -p "$PG_PORT" -U postgres -Atc \
            "select datname from pg_database
             where shobj_description(oid, 'pg_database') = '$STATE'" 2>/dev/null || true)
        for db in $dbs; do
            psql -X -q -h "$HOST" -p "$PG_PORT" -U postgres \
                -c "drop database if exists $db with (force)" || true
        done
        [ -n "$dbs" ] && say "dropped databases: $(echo $dbs)"
    fi
    if [ "$OWN_MQ" = 0 ] && rabbitmqctl -q status >/dev/null 2>&1; then
        vhost=${OSBOX_RABBIT_VHOST:-osbox}
        if rabbitmqctl -q list_vhosts name 2>/dev/null | grep -qx "$vhost"; then
            rabbitmqctl -q delete_vhost "$vhost" >/dev/null && say "deleted RabbitMQ vhost $vhost"
        fi
    fi
fi

# A private PostgreSQL cluster.
if [ -f "$RUN/own-postgres" ]; then
    read -r pgbin pgdata < "$RUN/own-postgres"
    runuser -u postgres -- "$pgbin/pg_ctl" -D "$pgdata" -m fast -w -t 30 stop >/dev/null 2>&1 || true
    rm -f "$RUN/own-postgres"
    say "stopped the private PostgreSQL"
fi

if [ "$PURGE" = 1 ]; then
    rm -rf "$STATE"
    say "deleted $STATE"
fi
say "stopped"
