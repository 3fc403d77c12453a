#!/usr/bin/env bash
# Start the Multicloud OpenStack sandbox: Keystone, Glance, Placement, Nova (fake virt
# driver), Neutron (ML2, no agents, ports bound by tools/sandbox/osbox_mech.py), Cinder
# (volumes as files, tools/sandbox/osbox_cinder.py) and Heat from PyPI, all on 127.0.0.1.
#
#   tools/openstack-sandbox.sh [STATE_DIR]        (default: <repo>/.sandbox/state)
#
# Reuses the PostgreSQL on 127.0.0.1:5432 and the RabbitMQ on 127.0.0.1:5672 when they
# run; otherwise installs (apt) and starts private ones. Re-running restarts the sandbox.
# See docs/sandbox.md for everything it creates and every OSBOX_* override.
set -euo pipefail

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$SCRIPT_DIR/.." && pwd)
SB="$SCRIPT_DIR/sandbox"
STATE=${1:-$REPO/.sandbox/state}
mkdir -p "$STATE"
STATE=$(cd "$STATE" && pwd)
RUN="$STATE/run"
LOG="$STATE/log"
T0=$(date +%s)

HOST=127.0.0.1
KS_PORT=${OSBOX_KEYSTONE_PORT:-5000}
GL_PORT=${OSBOX_GLANCE_PORT:-9292}
PL_PORT=${OSBOX_PLACEMENT_PORT:-8778}
NV_PORT=${OSBOX_NOVA_PORT:-8774}
NT_PORT=${OSBOX_NEUTRON_PORT:-9696}
CV_PORT=${OSBOX_CINDER_PORT:-8776}
HT_PORT=${OSBOX_HEAT_PORT:-8004}
CINDER=${OSBOX_CINDER:-1}               # 1: start Cinder | 0: leave it out (faster start)
[[ "$CINDER" =~ ^[01]$ ]] || { echo "OSBOX_CINDER must be 0 or 1" >&2; exit 1; }
HEAT=${OSBOX_HEAT:-1}                   # 1: start Heat | 0: leave it out (faster start)
[[ "$HEAT" =~ ^[01]$ ]] || { echo "OSBOX_HEAT must be 0 or 1" >&2; exit 1; }
PG_PORT=${OSBOX_PG_PORT:-5432}          # shared server; a private one uses OSBOX_OWN_PG_PORT
OWN_PG_PORT=${OSBOX_OWN_PG_PORT:-5433}
MQ_PORT=${OSBOX_RABBIT_PORT:-5672}
MQ_VHOST=${OSBOX_RABBIT_VHOST:-osbox}
DBP=${OSBOX_DB_PREFIX:-osbox_}          # database names: ${DBP}keystone, ${DBP}nova_api, ...
[[ "$DBP" =~ ^[a-z][a-z0-9_]*_$ ]] || { echo "OSBOX_DB_PREFIX must match [a-z][a-z0-9_]*_" >&2; exit 1; }
REGION=${OSBOX_REGION:-RegionOne}
NEUTRON_MODE=${OSBOX_NEUTRON:-auto}     # auto (real, stub if real fails) | real | stub
WAIT_SECS=${OSBOX_WAIT_SECS:-90}
PYTHON=${OSBOX_PYTHON:-python3}

CONSTRAINTS="$SB/constraints.txt"
CHASH=$(sha256sum "$CONSTRAINTS" | cut -c1-12)
VENV=${MULTICLOUD_OSBOX_VENV:-$HOME/.cache/multicloud/osbox-venv-$CHASH}
VENV_MARKER="$VENV/.osbox-complete-$CHASH"
PACKAGES="keystone glance nova openstack-placement neutron cinder openstack-heat uWSGI psycopg2-binary"

say() { printf '[osbox %3ss] %s\n' "$(( $(date +%s) - T0 ))" "$*" >&2; }
die() { say "ERROR: $*"; exit 1; }

# ---------------------------------------------------------------- restart / cleanup
if [ -n "$(ls -A "$RUN" 2>/dev/null)" ]; then  # pid files or private PostgreSQL/RabbitMQ
    say "stopping the sandbox already running from $STATE"
    "$SCRIPT_DIR/openstack-sandbox-stop.sh" "$STATE"
fi
mkdir -p "$RUN" "$LOG"

declare -A MIG=()  # background schema migrations: name -> pid (= process group)
on_exit() {
    local rc=$? pid
    if [ "$rc" -ne 0 ]; then
        for pid in "${MIG[@]}"; do kill -TERM -- "-$pid" 2>/dev/null || true; done
        say "start failed (rc=$rc); stopping what was started. Logs: $LOG"
        "$SCRIPT_DIR/openstack-sandbox-stop.sh" "$STATE" || true
    fi
}
trap on_exit EXIT

port_busy() { ss -Hltn "( sport = :$1 )" 2>/dev/null | grep -q .; }

SPECS="keystone:$KS_PORT glance:$GL_PORT placement:$PL_PORT nova:$NV_PORT neutron:$NT_PORT"
[ "$CINDER" = 1 ] && SPECS+=" cinder:$CV_PORT"
[ "$HEAT" = 1 ] && SPECS+=" heat:$HT_PORT"
for spec in $SPECS; do
    if port_busy "${spec#*:}"; then
        die "port ${spec#*:} (for ${spec%%:*}) on this machine is already in use by:
$(ss -Hltnp "( sport = :${spec#*:} )")
Free it or set OSBOX_$(tr a-z A-Z <<<"${spec%%:*}")_PORT to another port."
    fi
done

# ---------------------------------------------------------------- secrets
SECRETS="$STATE/secrets.env"
if [ -f "$SECRETS" ]; then
    # shellcheck disable=SC1090
    . "$SECRETS"
fi
gen() { "$PYTHON" -c 'import secrets; print(secrets.token_hex(12))'; }
ADMIN_USER=admin ADMIN_PROJECT=admin DEMO_USER=demo DEMO_PROJECT=demo
ADMIN_PASSWORD=${OSBOX_ADMIN_PASSWORD:-${SAVED_ADMIN_PASSWORD:-$(gen)}}
DEMO_PASSWORD=${OSBOX_DEMO_PASSWORD:-${SAVED_DEMO_PASSWORD:-$(gen)}}
SERVICE_PASSWORD=${SAVED_SERVICE_PASSWORD:-$(gen)}
( umask 077; cat > "$SECRETS" <<EOF
SAVED_ADMIN_PASSWORD=$ADMIN_PASSWORD
SAVED_DEMO_PASSWORD=$DEMO_PASSWORD
SAVED_SERVICE_PASSWORD=$SERVICE_PASSWORD
EOF
)

# ---------------------------------------------------------------- start helpers
# start NAME CMD...: run CMD in its own session (setsid), so the stop script can signal
# the whole process group; pid in $RUN/NAME.pid, output in $LOG/NAME.out.
start() {
    local name=$1; shift
    setsid bash -c 'echo $$ > "$0"; exec "$@"' "$RUN/$name.pid" "$@" \
        >"$LOG/$name.out" 2>&1 </dev/null &
    local i
    for i in $(seq 50); do [ -s "$RUN/$name.pid" ] && break; sleep 0.1; done
}

alive() { [ -s "$RUN/$1.pid" ] && kill -0 "$(cat "$RUN/$1.pid")" 2>/dev/null; }

# wait_http NAME URL LOGFILE: bounded wait for a 2xx/3xx answer.
wait_http() {
    local name=$1 url=$2 logf=$3 code deadline=$(( $(date +%s) + WAIT_SECS ))
    while :; do
        code=$(curl -s -o /dev/null -m 5 -w '%{http_code}' "$url" || true)
        case "$code" in 2??|3??) say "$name is up ($url)"; return 0 ;; esac
        alive "$name" || die "$name exited before answering on $url; see $logf"
        [ "$(date +%s)" -lt "$deadline" ] || die "$name did not answer on $url within ${WAIT_SECS}s; see $logf"
        sleep 0.5
    done
}

# ---------------------------------------------------------------- PostgreSQL
PSQL=(psql -X -q -v ON_ERROR_STOP=1 -h "$HOST" -U postgres)
if command -v pg_isready >/dev/null && pg_isready -q -h "$HOST" -p "$PG_PORT" \
        && "${PSQL[@]}" -p "$PG_PORT" -Atc 'select 1' >/dev/null 2>&1; then
    say "reusing PostgreSQL on $HOST:$PG_PORT"
else
    PG_PORT=$OWN_PG_PORT
    PGDATA="$STATE/pg/data"
    if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
        say "installing PostgreSQL with apt"
        DEBIAN_FRONTEND=noninteractive apt-get update -qq >"$LOG/apt.log" 2>&1
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >>"$LOG/apt.log" 2>&1 \
            || die "apt-get install postgresql failed; see $LOG/apt.log"
    fi
    PGBIN=$(dirname "$(ls -d /usr/lib/postgresql/*/bin/initdb | sort -V | tail -1)")
    mkdir -p "$STATE/pg/sock"
    chown -R postgres: "$STATE/pg"
    if [ ! -f "$PGDATA/PG_VERSION" ]; then
        runuser -u postgres -- "$PGBIN/initdb" -A trust -U postgres -D "$PGDATA" \
            >"$LOG/pg-initdb.log" 2>&1 || die "initdb failed; see $LOG/pg-initdb.log"
    fi
    port_busy "$PG_PORT" && die "port $PG_PORT for the private PostgreSQL is in use"
    runuser -u postgres -- "$PGBIN/pg_ctl" -D "$PGDATA" -l "$STATE/pg/postgresql.log" -w -t 60 \
        -o "-p $PG_PORT -c listen_addresses=$HOST -k $STATE/pg/sock -c fsync=off" start \
        >/dev/null || die "private PostgreSQL did not start; see $STATE/pg/postgresql.log"
    echo "$PGBIN $PGDATA" > "$RUN/own-postgres"
    say "started a private PostgreSQL on $HOST:$PG_PORT"
fi
PSQL+=(-p "$PG_PORT")
PG_URL="postgresql+psycopg2://postgres@$HOST:$PG_PORT"
DBS=""
for db in keystone glance placement nova_api nova_cell0 nova_cell1 neutron cinder heat; do DBS+=" $DBP$db"; done
# exactly these names: another sandbox's prefix may extend this one (osbox_ / osbox_x_)
DB_LIST=$(sed -e "s/^ /'/" -e "s/ /','/g" -e "s/$/'/" <<<"$DBS")
have_dbs=$("${PSQL[@]}" -Atc "select datname from pg_database where datname in ($DB_LIST)")
# The databases belong to one state dir (nova's compute node identity, keystone's fernet
# keys and glance's image files live there). Databases left by another state dir are
# dropped rather than reused: one sandbox per PostgreSQL server.
owner=$("${PSQL[@]}" -Atc "select shobj_description(oid, 'pg_database') from pg_database
                           where datname = '${DBP}keystone'")
if [ -n "$have_dbs" ] && [ "$owner" != "$STATE" ]; then
    if [ -n "$owner" ] && [ -d "$owner/run" ]; then
        for f in "$owner"/run/*.pid; do
            [ -s "$f" ] && kill -0 "$(cat "$f")" 2>/dev/null && die "the $DBP databases on \
$HOST:$PG_PORT belong to the sandbox running from $owner; stop it first \
($SCRIPT_DIR/openstack-sandbox-stop.sh $owner) or use a private PostgreSQL (OSBOX_PG_PORT=<free port>)"
        done
    fi
    say "dropping $DBP databases left by ${owner:-an unknown state dir}"
    for db in $have_dbs; do "${PSQL[@]}" -c "drop database if exists $db with (force)"; done
    have_dbs=""
fi
for db in $DBS; do
    grep -qx "$db" <<<"$have_dbs" || "${PSQL[@]}" -c "create database $db"
    "${PSQL[@]}" -c "comment on database $db is '$STATE'"
done

# ---------------------------------------------------------------- RabbitMQ
RMQCTL=(rabbitmqctl -q)
if port_busy "$MQ_PORT" && rabbitmqctl -q status >/dev/null 2>&1; then
    say "reusing RabbitMQ on $HOST:$MQ_PORT (vhost $MQ_VHOST)"
else
    port_busy "$MQ_PORT" && die "port $MQ_PORT is taken by something that is not a RabbitMQ we can manage"
    if ! command -v rabbitmq-server >/dev/null; then
        say "installing rabbitmq-server with apt"
        DEBIAN_FRONTEND=noninteractive apt-get update -qq >"$LOG/apt.log" 2>&1
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq rabbitmq-server >>"$LOG/apt.log" 2>&1 \
            || die "apt-get install rabbitmq-server failed; see $LOG/apt.log"
    fi
    MQ_NODE=osbox@localhost
    MQ_BASE="$STATE/rabbitmq"
    mkdir -p "$MQ_BASE/mnesia" "$MQ_BASE/log"
    # our own config file: the machine's /etc/rabbitmq/rabbitmq.conf may pin other listeners
    echo "listeners.tcp.local = $HOST:$MQ_PORT" > "$MQ_BASE/rabbitmq.conf"
    chown -R rabbitmq: "$MQ_BASE"
    epmd_before=0
    port_busy 4369 && epmd_before=1   # an epmd already runs: the stop script must leave it
    # in the foreground under setsid like every service, so the stop script can signal it
    start rabbitmq env RABBITMQ_NODENAME=$MQ_NODE RABBITMQ_NODE_IP_ADDRESS=$HOST \
        RABBITMQ_NODE_PORT=$MQ_PORT RABBITMQ_DIST_PORT=$((MQ_PORT + 20000)) ERL_EPMD_ADDRESS=$HOST \
        RABBITMQ_MNESIA_BASE="$MQ_BASE/mnesia" RABBITMQ_LOG_BASE="$MQ_BASE/log" \
        RABBITMQ_PID_FILE="$MQ_BASE/rabbit.pid" RABBITMQ_CONFIG_FILE="$MQ_BASE/rabbitmq.conf" \
        RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS="-kernel inet_dist_use_interface {127,0,0,1}" \
        rabbitmq-server
    echo "$MQ_NODE $epmd_before" > "$RUN/own-rabbitmq"
    RMQCTL=(rabbitmqctl -q -n "$MQ_NODE")
    deadline=$(( $(date +%s) + 60 ))
    until timeout 15 "${RMQCTL[@]}" await_startup >/dev/null 2>&1; do
        alive rabbitmq || die "private RabbitMQ exited; see $LOG/rabbitmq.out and $MQ_BASE/log"
        [ "$(date +%s)" -lt "$deadline" ] || die "private RabbitMQ not up after 60s; see $MQ_BASE/log"
        sleep 1
    done
    say "started a private RabbitMQ ($MQ_NODE) on $HOST:$MQ_PORT"
fi
"${RMQCTL[@]}" list_vhosts name 2>/dev/null | grep -qx "$MQ_VHOST" || "${RMQCTL[@]}" add_vhost "$MQ_VHOST" >/dev/null
"${RMQCTL[@]}" set_permissions -p "$MQ_VHOST" guest '.*' '.*' '.*' >/dev/null
# Nova's notifier declares notifications.info etc. itself; nobody consumes them in the
# sandbox (tests use their own pool queues), so cap them instead of letting them grow.
"${RMQCTL[@]}" set_policy -p "$MQ_VHOST" --apply-to queues osbox-notification-cap \
    '^(versioned_)?notifications\.' '{"max-length":10000}' >/dev/null
MQ_URL="rabbit://guest:guest@$HOST:$MQ_PORT/$MQ_VHOST"

# ---------------------------------------------------------------- venv
if [ ! -f "$VENV_MARKER" ]; then
    say "installing the OpenStack services into $VENV (takes about a minute)"
    if [ -e "$VENV" ]; then
        # only ever delete a venv this script created (e.g. after an interrupted install)
        [ -f "$VENV/.osbox-venv" ] || [ -z "$(ls -A "$VENV")" ] || die "$VENV exists but is not a sandbox venv; \
remove it or set MULTICLOUD_OSBOX_VENV to another path"
        rm -rf "$VENV"
    fi
    mkdir -p "$(dirname "$VENV")"
    "$PYTHON" -m venv "$VENV"
    touch "$VENV/.osbox-venv"
    # shellcheck disable=SC2086
    "$VENV/bin/pip" install -q ${OSBOX_PIP_ARGS:-} -c "$CONSTRAINTS" $PACKAGES \
        >"$LOG/pip.log" 2>&1 || die "pip install failed; see $LOG/pip.log"
    date -u +%FT%TZ > "$VENV_MARKER"
    say "venv ready"
else
    say "reusing venv $VENV"
fi
B="$VENV/bin"
export PYTHONWARNINGS=ignore::DeprecationWarning

# ---------------------------------------------------------------- render configuration
render() {  # render TEMPLATE DEST
    sed -e "s#@@STATE@@#$STATE#g" -e "s#@@HOST@@#$HOST#g" -e "s#@@PG_URL@@#$PG_URL#g" \
        -e "s#@@MQ_URL@@#$MQ_URL#g" -e "s#@@REGION@@#$REGION#g" \
        -e "s#@@SERVICE_PASSWORD@@#$SERVICE_PASSWORD#g" \
        -e "s#@@KS_PORT@@#$KS_PORT#g" -e "s#@@GL_PORT@@#$GL_PORT#g" -e "s#@@PL_PORT@@#$PL_PORT#g" \
        -e "s#@@NV_PORT@@#$NV_PORT#g" -e "s#@@NT_PORT@@#$NT_PORT#g" -e "s#@@CV_PORT@@#$CV_PORT#g" -e "s#@@HT_PORT@@#$HT_PORT#g" -e "s#@@DB_PREFIX@@#$DBP#g" \
        "$SB/conf/$1" > "$2"
    chmod 600 "$2"
}
mkdir -p "$STATE"/{keystone,glance/{images,staging,tasks,cache},placement,nova/{state,instances,locks},neutron/{state,locks,plugins},cinder/{state,locks,volumes,plugins},heat/locks}
render keystone.conf "$STATE/keystone/keystone.conf"
render keystone-uwsgi.ini "$STATE/keystone/uwsgi.ini"
render glance-api.conf "$STATE/glance/glance-api.conf"
render glance-uwsgi.ini "$STATE/glance/uwsgi.ini"
cp "$VENV/etc/glance/glance-api-paste.ini" "$STATE/glance/glance-api-paste.ini"
render placement.conf "$STATE/placement/placement.conf"
render placement-uwsgi.ini "$STATE/placement/uwsgi.ini"
render nova.conf "$STATE/nova/nova.conf"
render nova-api.conf "$STATE/nova/nova-api.conf"
render nova-api-uwsgi.ini "$STATE/nova/uwsgi.ini"
cp "$VENV/etc/nova/api-paste.ini" "$STATE/nova/api-paste.ini"
render neutron.conf "$STATE/neutron/neutron.conf"
render ml2_conf.ini "$STATE/neutron/ml2_conf.ini"
render neutron-uwsgi.ini "$STATE/neutron/uwsgi.ini"
cp "$VENV/etc/neutron/api-paste.ini" "$STATE/neutron/api-paste.ini"
# the agentless port-binding mechanism driver, found by ML2 through its entry point
cp "$SB/osbox_mech.py" "$STATE/neutron/plugins/"
mkdir -p "$STATE/neutron/plugins/osbox_mech-1.0.dist-info"
printf 'Metadata-Version: 2.1\nName: osbox-mech\nVersion: 1.0\n' \
    > "$STATE/neutron/plugins/osbox_mech-1.0.dist-info/METADATA"
printf '[neutron.ml2.mechanism_drivers]\nosbox = osbox_mech:OsboxMechanismDriver\n' \
    > "$STATE/neutron/plugins/osbox_mech-1.0.dist-info/entry_points.txt"
render cinder.conf "$STATE/cinder/cinder.conf"
render cinder-uwsgi.ini "$STATE/cinder/uwsgi.ini"
cp "$VENV/etc/cinder/api-paste.ini" "$VENV/etc/cinder/resource_filters.json" "$STATE/cinder/"
cp "$SB/osbox_cinder.py" "$STATE/cinder/plugins/"
render heat.conf "$STATE/heat/heat.conf"
render heat-uwsgi.ini "$STATE/heat/uwsgi.ini"
cp "$VENV/etc/heat/api-paste.ini" "$STATE/heat/"

# ---------------------------------------------------------------- database schemas
# Glance, Placement, Nova, Neutron, Cinder and Heat migrate in the background while Keystone comes up.
NOVA_CONF="$STATE/nova/nova.conf"
CINDER_CONF="$STATE/cinder/cinder.conf"
HEAT_CONF="$STATE/heat/heat.conf"
migrate_nova() {
    local nm=("$B/nova-manage" --config-file "$NOVA_CONF") cells
    "${nm[@]}" api_db sync
    "${nm[@]}" cell_v2 map_cell0 --database_connection "$PG_URL/${DBP}nova_cell0"
    cells=$("${nm[@]}" cell_v2 list_cells)
    grep -q ' cell1 ' <<<"$cells" || "${nm[@]}" cell_v2 create_cell --name cell1
    "${nm[@]}" db sync
}
migrate_neutron() {
    local nconf=(--config-file "$STATE/neutron/neutron.conf" --config-file "$STATE/neutron/ml2_conf.ini")
    # Neutron's alembic scripts carry MySQL-only SQL; build the schema from the models.
    "$B/python" "$SB/neutron_schema.py" "$PG_URL/${DBP}neutron"
    "$B/neutron-db-manage" "${nconf[@]}" stamp heads
}
# set -m: each migration job gets its own process group, so a failed start can end it
set -m
( "$B/glance-manage" --config-dir "$STATE/glance" db_sync ) >"$LOG/dbsync-glance.log" 2>&1 & MIG[glance]=$!
( "$B/placement-manage" --config-dir "$STATE/placement" db sync ) >"$LOG/dbsync-placement.log" 2>&1 & MIG[placement]=$!
migrate_nova >"$LOG/dbsync-nova.log" 2>&1 & MIG[nova]=$!
if [ "$CINDER" = 1 ]; then
    ( "$B/cinder-manage" --config-file "$CINDER_CONF" db sync ) >"$LOG/dbsync-cinder.log" 2>&1 & MIG[cinder]=$!
fi
if [ "$HEAT" = 1 ]; then
    ( "$B/heat-manage" --config-file "$HEAT_CONF" db_sync ) >"$LOG/dbsync-heat.log" 2>&1 & MIG[heat]=$!
fi
if [ "$NEUTRON_MODE" != stub ]; then
    migrate_neutron >"$LOG/dbsync-neutron.log" 2>&1 & MIG[neutron]=$!
fi
set +m

# ---------------------------------------------------------------- keystone
KCONF=(--config-dir "$STATE/keystone")
mkdir -p "$STATE/keystone/fernet-keys" "$STATE/keystone/credential-keys"
"$B/keystone-manage" "${KCONF[@]}" db_sync >"$LOG/dbsync-keystone.log" 2>&1 \
    || die "keystone db_sync failed; see $LOG/dbsync-keystone.log"
[ -f "$STATE/keystone/fernet-keys/0" ] || "$B/keystone-manage" "${KCONF[@]}" fernet_setup \
    --keystone-user root --keystone-group root >>"$LOG/dbsync-keystone.log" 2>&1
[ -f "$STATE/keystone/credential-keys/0" ] || "$B/keystone-manage" "${KCONF[@]}" credential_setup \
    --keystone-user root --keystone-group root >>"$LOG/dbsync-keystone.log" 2>&1
OS_BOOTSTRAP_PASSWORD=$ADMIN_PASSWORD "$B/keystone-manage" "${KCONF[@]}" bootstrap \
    --bootstrap-username "$ADMIN_USER" --bootstrap-project-name "$ADMIN_PROJECT" \
    --bootstrap-role-name admin --bootstrap-service-name keystone \
    --bootstrap-region-id "$REGION" \
    --bootstrap-admin-url "http://$HOST:$KS_PORT/v3" \
    --bootstrap-public-url "http://$HOST:$KS_PORT/v3" \
    --bootstrap-internal-url "http://$HOST:$KS_PORT/v3" >"$LOG/keystone-bootstrap.log" 2>&1 \
    || die "keystone bootstrap failed; see $LOG/keystone-bootstrap.log"
start keystone "$B/uwsgi" --ini "$STATE/keystone/uwsgi.ini"
wait_http keystone "http://$HOST:$KS_PORT/v3" "$LOG/keystone.log and $LOG/keystone-uwsgi.log"

AUTH_URL="http://$HOST:$KS_PORT"
export OSBOX_AUTH_URL=$AUTH_URL OSBOX_REGION=$REGION \
    OSBOX_ADMIN_USER=$ADMIN_USER OSBOX_ADMIN_PASSWORD=$ADMIN_PASSWORD OSBOX_ADMIN_PROJECT=$ADMIN_PROJECT \
    OSBOX_DEMO_USER=$DEMO_USER OSBOX_DEMO_PASSWORD=$DEMO_PASSWORD OSBOX_DEMO_PROJECT=$DEMO_PROJECT \
    OSBOX_SERVICE_PASSWORD=$SERVICE_PASSWORD OSBOX_SERVICE_USERS="glance nova placement neutron cinder heat" \
    OSBOX_SVC_IMAGE="glance|http://$HOST:$GL_PORT" \
    OSBOX_SVC_PLACEMENT="placement|http://$HOST:$PL_PORT" \
    OSBOX_SVC_COMPUTE="nova|http://$HOST:$NV_PORT/v2.1" \
    OSBOX_SVC_NETWORK="neutron|http://$HOST:$NT_PORT" \
    OSBOX_VENV=$VENV OSBOX_NOVA_CONF=$NOVA_CONF
ABSENT=""
if [ "$CINDER" = 1 ]; then
    export OSBOX_SVC_BLOCK_STORAGE="cinder|http://$HOST:$CV_PORT/v3/%(project_id)s" \
        OSBOX_SVC_VOLUMEV3="cinderv3|http://$HOST:$CV_PORT/v3/%(project_id)s"
else
    ABSENT+=" block-storage volumev3"
fi
if [ "$HEAT" = 1 ]; then
    export OSBOX_SVC_ORCHESTRATION="heat|http://$HOST:$HT_PORT/v1/%(project_id)s" \
        OSBOX_HEAT_STACK_DOMAIN=heat
else
    ABSENT+=" orchestration"
fi
export OSBOX_ABSENT_SERVICES=$ABSENT
"$B/python" "$SB/ks_register.py" >"$LOG/ks-register.log" 2>&1 \
    || die "registering services in keystone failed; see $LOG/ks-register.log"
say "keystone: services, endpoints, service users and demo user registered"

ready=""
for m in "${!MIG[@]}"; do
    [ "$m" = neutron ] && continue  # waited for where Neutron starts
    wait "${MIG[$m]}" || die "$m database migration failed; see $LOG/dbsync-$m.log"
    ready+=" $m"
done
say "schemas ready:$ready"

# ---------------------------------------------------------------- glance, placement, neutron
start glance "$B/uwsgi" --ini "$STATE/glance/uwsgi.ini"
start placement "$B/uwsgi" --ini "$STATE/placement/uwsgi.ini"

NEUTRON_KIND=stub
NEUTRON_NOTE=""
start_stub() {
    start neutron "$B/python" "$SB/fake_neutron.py" "$HOST" "$NT_PORT"
    wait_http neutron "http://$HOST:$NT_PORT/" "$LOG/neutron.out"
    NEUTRON_KIND=stub
}
try_real_neutron() {
    wait "${MIG[neutron]}" || { NEUTRON_NOTE="schema creation failed, see $LOG/dbsync-neutron.log"; return 1; }
    start neutron "$B/uwsgi" --ini "$STATE/neutron/uwsgi.ini"
    ( wait_http neutron "http://$HOST:$NT_PORT/" "$LOG/neutron-api.log and $LOG/neutron-uwsgi.log" ) \
        || { NEUTRON_NOTE="neutron-server did not come up, see $LOG/neutron-api.log"; return 1; }
    NEUTRON_KIND=real
}
case "$NEUTRON_MODE" in
    stub) start_stub ;;
    real) try_real_neutron || die "real Neutron failed: $NEUTRON_NOTE" ;;
    *)
        if ! try_real_neutron; then
            say "WARNING: real Neutron failed ($NEUTRON_NOTE); falling back to the stub"
            "$SCRIPT_DIR/openstack-sandbox-stop.sh" --only neutron "$STATE" || true
            start_stub
        fi ;;
esac

# ---------------------------------------------------------------- nova
start nova-api "$B/uwsgi" --ini "$STATE/nova/uwsgi.ini"
start nova-conductor "$B/nova-conductor" --config-file "$NOVA_CONF" --log-file nova-conductor.log
start nova-scheduler "$B/nova-scheduler" --config-file "$NOVA_CONF" --log-file nova-scheduler.log
start nova-compute "$B/nova-compute" --config-file "$NOVA_CONF" --log-file nova-compute.log

# ---------------------------------------------------------------- cinder
CINDER_PROCS=""
if [ "$CINDER" = 1 ]; then
    start cinder-api "$B/uwsgi" --ini "$STATE/cinder/uwsgi.ini"
    start cinder-scheduler "$B/cinder-scheduler" --config-file "$CINDER_CONF" --log-file cinder-scheduler.log
    start cinder-volume env PYTHONPATH="$STATE/cinder/plugins" \
        "$B/cinder-volume" --config-file "$CINDER_CONF" --log-file cinder-volume.log
    CINDER_PROCS="cinder-scheduler cinder-volume"
fi

# ---------------------------------------------------------------- heat
HEAT_PROCS=""
if [ "$HEAT" = 1 ]; then
    start heat-api "$B/uwsgi" --ini "$STATE/heat/uwsgi.ini"
    start heat-engine "$B/heat-engine" --config-file "$HEAT_CONF" --log-file heat-engine.log
    HEAT_PROCS="heat-engine"
fi

wait_http glance "http://$HOST:$GL_PORT/versions" "$LOG/glance-api.log and $LOG/glance-uwsgi.log"
wait_http placement "http://$HOST:$PL_PORT/" "$LOG/placement.log and $LOG/placement-uwsgi.log"
wait_http nova-api "http://$HOST:$NV_PORT/" "$LOG/nova-api.log and $LOG/nova-api-uwsgi.log"
[ "$CINDER" = 1 ] && wait_http cinder-api "http://$HOST:$CV_PORT/" "$LOG/cinder-api.log and $LOG/cinder-api-uwsgi.log"
[ "$HEAT" = 1 ] && wait_http heat-api "http://$HOST:$HT_PORT/" "$LOG/heat-api.log and $LOG/heat-api-uwsgi.log"
for p in nova-conductor nova-scheduler nova-compute $CINDER_PROCS $HEAT_PROCS; do
    alive "$p" || die "$p exited; see $LOG/$p.log and $LOG/$p.out"
done

"$B/python" "$SB/nova_ready.py" >"$LOG/nova-ready.log" 2>&1 \
    || die "nova did not become usable; see $LOG/nova-ready.log, $LOG/nova-compute.log, $LOG/nova-conductor.log"
say "nova: compute host mapped, inventory in placement, flavors and image present"
if [ "$CINDER" = 1 ]; then
    "$B/python" "$SB/cinder_ready.py" >"$LOG/cinder-ready.log" 2>&1 \
        || die "cinder did not become usable; see $LOG/cinder-ready.log, $LOG/cinder-volume.log, $LOG/cinder-scheduler.log"
    say "cinder: scheduler and volume backend up, a test volume was created and deleted"
fi
if [ "$HEAT" = 1 ]; then
    "$B/python" "$SB/heat_ready.py" >"$LOG/heat-ready.log" 2>&1 \
        || die "heat did not become usable; see $LOG/heat-ready.log, $LOG/heat-engine.log, $LOG/heat-api.log"
    say "heat: engine up, a test stack was created and deleted"
fi
PORTS_ENV=""
[ "$NEUTRON_KIND" = real ] && PORTS_ENV="OSBOX_PORT_BINDING=osbox"
CINDER_ENV=""
[ "$CINDER" = 1 ] && CINDER_ENV="OSBOX_CINDER_URL=http://$HOST:$CV_PORT/v3
OSBOX_VOLUME_DIR=$STATE/cinder/volumes"
HEAT_ENV=""
[ "$HEAT" = 1 ] && HEAT_ENV="OSBOX_HEAT_URL=http://$HOST:$HT_PORT/v1"

# ---------------------------------------------------------------- client files
( umask 077
cat > "$STATE/endpoints.env" <<EOF
OSBOX_STATE=$STATE
OSBOX_AUTH_URL=$AUTH_URL/v3
OSBOX_REGION=$REGION
OSBOX_ADMIN_USER=$ADMIN_USER
OSBOX_ADMIN_PASSWORD=$ADMIN_PASSWORD
OSBOX_ADMIN_PROJECT=$ADMIN_PROJECT
OSBOX_DEMO_USER=$DEMO_USER
OSBOX_DEMO_PASSWORD=$DEMO_PASSWORD
OSBOX_DEMO_PROJECT=$DEMO_PROJECT
OSBOX_TRANSPORT_URL=$MQ_URL
OSBOX_AMQP_URL=amqp://guest:guest@$HOST:$MQ_PORT/$MQ_VHOST
OSBOX_KEYSTONE_URL=$AUTH_URL
OSBOX_GLANCE_URL=http://$HOST:$GL_PORT
OSBOX_PLACEMENT_URL=http://$HOST:$PL_PORT
OSBOX_NOVA_URL=http://$HOST:$NV_PORT/v2.1
OSBOX_NEUTRON_URL=http://$HOST:$NT_PORT
OSBOX_NEUTRON_KIND=$NEUTRON_KIND
$PORTS_ENV
$CINDER_ENV
$HEAT_ENV
OSBOX_FLAVORS=m1.tiny,m1.small
OSBOX_IMAGE=fake-image
EOF
cat > "$STATE/clouds.yaml" <<EOF
clouds:
  osbox:
    auth:
      auth_url: $AUTH_URL/v3
      username: $ADMIN_USER
      password: "$ADMIN_PASSWORD"
      project_name: $ADMIN_PROJECT
      user_domain_name: Default
      project_domain_name: Default
    region_name: $REGION
    identity_api_version: 3
  osbox-demo:
    auth:
      auth_url: $AUTH_URL/v3
      username: $DEMO_USER
      password: "$DEMO_PASSWORD"
      project_name: $DEMO_PROJECT
      user_domain_name: Default
      project_domain_name: Default
    region_name: $REGION
    identity_api_version: 3
EOF
cat > "$STATE/openrc" <<EOF
# source me: admin credentials for the Multicloud OpenStack sandbox
export OS_AUTH_URL=$AUTH_URL/v3
export OS_IDENTITY_API_VERSION=3
export OS_USERNAME=$ADMIN_USER
export OS_PASSWORD=$ADMIN_PASSWORD
export OS_PROJECT_NAME=$ADMIN_PROJECT
export OS_USER_DOMAIN_NAME=Default
export OS_PROJECT_DOMAIN_NAME=Default
export OS_REGION_NAME=$REGION
export OS_CLIENT_CONFIG_FILE=$STATE/clouds.yaml
EOF
)

trap - EXIT
say "sandbox ready in $(( $(date +%s) - T0 ))s (neutron: $NEUTRON_KIND)"
cat >&2 <<EOF
  keystone  $AUTH_URL/v3
  glance    http://$HOST:$GL_PORT
  placement http://$HOST:$PL_PORT
  nova      http://$HOST:$NV_PORT/v2.1
  neutron   http://$HOST:$NT_PORT ($NEUTRON_KIND${PORTS_ENV:+, ports bind})
  cinder    $([ "$CINDER" = 1 ] && echo "http://$HOST:$CV_PORT/v3 (volumes as files in $STATE/cinder/volumes)" || echo "not started (OSBOX_CINDER=0)")
  heat      $([ "$HEAT" = 1 ] && echo "http://$HOST:$HT_PORT/v1 (stacks on this sandbox's services)" || echo "not started (OSBOX_HEAT=0)")
  amqp      $HOST:$MQ_PORT vhost $MQ_VHOST (exchange nova)
  credentials: $STATE/endpoints.env, $STATE/openrc, $STATE/clouds.yaml (clouds osbox, osbox-demo)
  stop:      $SCRIPT_DIR/openstack-sandbox-stop.sh $STATE [--purge]
EOF
