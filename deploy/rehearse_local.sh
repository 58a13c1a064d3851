#!/usr/bin/env bash
# Rehearses docs/DEPLOY.md on one machine, with the same variables a real deployment sets:
# three replicas on 127.0.0.1:19101-19103 with TLS (deno task certs) and a token file, a
# gateway over TLS, strokes proposed with curl, an online backup with sqlite3 while they run,
# a fourth replica added (JOIN=1, deno task members add), a lost disk replaced, a cold backup
# of every data dir, every dir wiped and restored from it. Prints what it saw; exits 1 on a
# failed check. Needs deno, curl, openssl, sqlite3 and jq. Leaves its files in $W.
set -euo pipefail
cd "$(dirname "$0")/.."
W=${W:-$(mktemp -d /tmp/wb-deploy-XXXXXX)}
PORTS=(19101 19102 19103 19104)
GW=19180
url() { echo "https://127.0.0.1:$1"; }
say() { echo "[rehearse] $*"; }
fail() { say "FAILED: $*"; exit 1; }

deno task -q certs "$W/certs" localhost 127.0.0.1 >/dev/null
openssl rand -hex 32 >"$W/token"
chmod 600 "$W/token"
export TLS_CERT=$W/certs/cert.pem TLS_KEY=$W/certs/key.pem DENO_CERT=$W/certs/ca.pem
export CLUSTER_TOKEN_FILE=$W/token
AUTH="Authorization: Bearer $(cat "$W/token")"
CURL=(curl -sS --max-time 3 --cacert "$W/certs/ca.pem")

# start N [extra env...]: replica N on PORTS[N-1], PEERS = the other three of the four URLs.
start() {
  local n=$1 port=${PORTS[$(($1 - 1))]}
  shift
  local peers
  peers=$(for p in "${PORTS[@]:0:3}"; do if [ "$p" != "$port" ]; then url "$p"; fi; done | paste -sd,)
  # What `deno task replica` runs, exec'd so that the pid is the replica's own.
  (env REPLICA_ID="replica$n" PORT="$port" PEERS="$peers" ADVERTISE_URL="$(url "$port")" \
    DATA_DIR="$W/replica$n" LISTEN_HOST=127.0.0.1 "$@" \
    bash -c 'exec deno run -P=replica replica/main.ts' >>"$W/replica$n.log" 2>&1 &
    echo $! >"$W/replica$n.pid")
}
stop() { kill "-${2:-TERM}" "$(cat "$W/replica$1.pid")" 2>/dev/null || true; sleep 0.3; }
status() { "${CURL[@]}" "$(url "${PORTS[$(($1 - 1))]}")/status" 2>/dev/null || echo '{}'; }
leader_url() {
  for n in 1 2 3 4; do
    [ "$(status "$n" | jq -r .state)" = leader ] && url "${PORTS[$((n - 1))]}" && return
  done
  return 1
}
wait_leader() {
  for _ in $(seq 150); do leader_url >/dev/null && return; sleep 0.2; done
  fail "no leader"
}
commit() { status "$1" | jq -r '.commitIndex // -1'; }
# wait_caught_up N: replica N follows a leader and has the leader's commit index.
wait_caught_up() {
  local target
  target=$("${CURL[@]}" "$(leader_url)/status" | jq .commitIndex)
  for _ in $(seq 300); do
    [ "$(commit "$1")" -ge "$target" ] && [ "$(status "$1" | jq -r .leaderId)" != null ] && return
    sleep 0.1
  done
  fail "replica$1 did not catch up to $target"
}
propose() { # propose FROM COUNT: strokes s-FROM.. through the leader, in one request
  local items
  items=$(seq "$1" $(($1 + $2 - 1)) | jq -cs 'map({stroke: {id: "s-\(.)", x0: ., y0: 10,
    x1: (. + 5), y1: 20, color: "#e63946", width: 3}})')
  "${CURL[@]}" --max-time 15 -H "$AUTH" -H 'content-type: application/json' \
    -d "{\"items\": $items}" "$(leader_url)/propose" | jq -e .commitIndex >/dev/null ||
    fail "propose"
}
strokes_in() { sqlite3 "$1" 'SELECT count(*) FROM entries WHERE stroke_id IS NOT NULL'; }
cleanup() { for n in 1 2 3 4; do stop "$n" KILL; done; kill "$(cat "$W/gateway.pid" 2>/dev/null)" 2>/dev/null || true; }
trap cleanup EXIT

say "files in $W; three replicas with TLS and a token file"
for n in 1 2 3; do start "$n"; done
wait_leader
say "leader $(leader_url)"
"${CURL[@]}" -o /dev/null -w '%{http_code}' "$(leader_url)/entries?from=1" | grep -q 401 &&
  say "/entries without the token: 401" || fail "/entries answered without a token"
curl -sS --max-time 3 "http://127.0.0.1:${PORTS[0]}/status" >/dev/null 2>&1 &&
  fail "plain http answered" || say "plain http://: refused"
(env GATEWAY_PORT=$GW REPLICA_URLS="$(url 19101),$(url 19102),$(url 19103)" \
  bash -c 'exec deno run -P=gateway gateway/main.ts' >>"$W/gateway.log" 2>&1 &
  echo $! >"$W/gateway.pid")
for _ in $(seq 100); do "${CURL[@]}" "$(url $GW)/healthz" >/dev/null 2>&1 && break; sleep 0.2; done
say "gateway over TLS: /healthz $("${CURL[@]}" -o /dev/null -w '%{http_code}' "$(url $GW)/healthz")"

propose 1 200
say "200 strokes committed; commit index $(commit 1)"
sqlite3 "$W/replica2/state.sqlite" ".backup '$W/hot-backup.sqlite'"
say "online backup of replica2 while running: $(strokes_in "$W/hot-backup.sqlite") strokes," \
  "applied up to $(sqlite3 "$W/hot-backup.sqlite" 'SELECT idx FROM applied')," \
  "integrity $(sqlite3 "$W/hot-backup.sqlite" 'PRAGMA integrity_check')"
[ "$(strokes_in "$W/hot-backup.sqlite")" = 200 ] || fail "the online backup lacks strokes"
# The same without the sqlite3 program: Deno's node:sqlite, VACUUM INTO.
deno eval 'import { DatabaseSync } from "node:sqlite";
  new DatabaseSync(Deno.args[0], { readOnly: true }).prepare("VACUUM INTO ?").run(Deno.args[1])' \
  "$W/replica1/state.sqlite" "$W/hot-backup-vacuum.sqlite"
say "VACUUM INTO copy of replica1 while running: $(strokes_in "$W/hot-backup-vacuum.sqlite") strokes"
[ "$(strokes_in "$W/hot-backup-vacuum.sqlite")" = 200 ] || fail "the VACUUM INTO copy lacks strokes"

say "adding replica4 (JOIN=1, then deno task members add)"
start 4 JOIN=1
for _ in $(seq 100); do [ "$(status 4 | jq -r .replicaId)" = replica4 ] && break; sleep 0.2; done
REPLICA_URLS="$(url 19101),$(url 19102),$(url 19103)" deno task -q members add "$(url 19104)" |
  sed 's/^/    /'
[ "$(status 4 | jq -r .voter)" = true ] || fail "replica4 is not a voter"
propose 201 100

say "replica3 loses its disk: SIGKILL, data dir removed, started again empty"
stop 3 KILL
rm -rf "$W/replica3"
t0=$(date +%s%N)
start 3
wait_caught_up 3
for _ in $(seq 100); do [ "$(status 3 | jq -r '.recovering // false')" = false ] && break; sleep 0.1; done
say "replica3 caught up in $((($(date +%s%N) - t0) / 1000000)) ms, recovering=$(status 3 |
  jq -r .recovering), $(strokes_in "$W/replica3/state.sqlite") strokes"

propose 301 100
wait_caught_up 4
before=$(commit 1)
say "cold backup: every replica stopped (SIGTERM), data dirs copied; commit index $before"
for n in 4 3 2 1; do stop "$n"; done
sleep 1
for n in 1 2 3 4; do cp -a "$W/replica$n" "$W/cold-replica$n"; done
say "every data dir wiped, then restored from the cold copies"
for n in 1 2 3 4; do rm -rf "$W/replica$n" && cp -a "$W/cold-replica$n" "$W/replica$n"; done
for n in 1 2 3; do start "$n"; done
start 4 JOIN=1
wait_leader
for n in 1 2 3 4; do wait_caught_up "$n"; done
propose 401 10
after=$(commit 1)
for n in 1 2 3 4; do
  got=$(strokes_in "$W/replica$n/state.sqlite")
  say "replica$n after the restore: $got strokes, commit $(commit "$n")"
  [ "$got" = 410 ] || fail "replica$n holds $got strokes, expected 410"
done
[ "$after" -gt "$before" ] || fail "commit index did not move past $before"
say "all checks passed"
