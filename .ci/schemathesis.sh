#!/usr/bin/env bash
# Property-based API tests: schemathesis (from PyPI, in a virtual environment) against
# /api/openapi.json of a fresh server (this crate's debug build, SQLite in a temporary
# folder, fresh keys), once as a logged-in social worker and once as a manager, with the
# checks `not_a_server_error` and `response_schema_conformance`. Any 5xx or response that
# contradicts the document fails the run. Bounded: a few examples per operation and a
# time budget per role, so the whole step stays under five minutes.
#
# Runs alone (`bash .ci/schemathesis.sh`) or from `.ci/run`. Settings (environment):
#   SCHEMATHESIS_VENV         virtual environment to use or create (default target/schemathesis-venv)
#   SCHEMATHESIS_MAX_EXAMPLES examples per operation (default 15)
#   SCHEMATHESIS_MAX_TIME     seconds per role (default 75)
set -euo pipefail
cd "$(dirname "$0")/.."

root="$PWD"
venv="$(realpath -m "${SCHEMATHESIS_VENV:-target/schemathesis-venv}")"
max_examples="${SCHEMATHESIS_MAX_EXAMPLES:-15}"
max_time="${SCHEMATHESIS_MAX_TIME:-75}"

echo "== schemathesis: install"
if [ ! -x "$venv/bin/st" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check 'schemathesis>=4.3,<5'
fi
"$venv/bin/st" --version

echo "== schemathesis: build and start the server"
cargo build --quiet --bin hoanhap
bin="$PWD/target/debug/hoanhap"
work="$(mktemp -d)"
server_pid=""
cleanup() {
  if [ -n "$server_pid" ]; then
    kill "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
base="http://127.0.0.1:$port"
export HOANHAP_DATA_DIR="$work/data"
export HOANHAP_DATABASE_URL="sqlite://$work/data/hoanhap.db?mode=rwc"
export HOANHAP_LISTEN="127.0.0.1:$port"
export HOANHAP_AUTH__MFA_REQUIRED_ROLES='[]'
export HOANHAP_AUTH__INSECURE_COOKIES=true
export RUST_LOG="${RUST_LOG:-warn}"

# Accounts first (this also creates the keys and the database).
password="schemathesis-$(python3 -c 'import secrets; print(secrets.token_hex(12))')"
printf '%s\n' "$password" | "$bin" user add --username st.worker --role social_worker --area 16681 --password-stdin >/dev/null
printf '%s\n' "$password" | "$bin" user add --username st.manager --role manager --area 40 --password-stdin >/dev/null

"$bin" serve >"$work/server.log" 2>&1 &
server_pid=$!
for _ in $(seq 100); do
  curl -fsS "$base/healthz" >/dev/null 2>&1 && break
  if ! kill -0 "$server_pid" 2>/dev/null; then
    cat "$work/server.log"
    echo "the server did not start" >&2
    exit 1
  fi
  sleep 0.2
done

# Logs in; prints the two headers schemathesis sends: the session cookie and the CSRF
# token that API writes need (src/auth/csrf.rs).
login() {
  local jar="$work/$1.cookies"
  local body
  body="$(curl -fsS -c "$jar" -H 'content-type: application/json' \
    -d "{\"username\":\"$1\",\"password\":\"$password\"}" "$base/api/v1/session")"
  local csrf cookie
  csrf="$(printf '%s' "$body" | python3 -c 'import json, sys; print(json.load(sys.stdin)["csrf_token"])')"
  cookie="$(awk '$6 == "hoanhap" { print $7 }' "$jar")"
  if [ -z "$csrf" ] || [ -z "$cookie" ]; then
    echo "login of $1 failed" >&2
    exit 1
  fi
  printf 'Cookie: hoanhap=%s\nX-CSRF-Token: %s\n' "$cookie" "$csrf"
}

# An account created on the command line must choose its own password before anything
# else (an operator never knows a working one): each test account does so once.
own_password="schemathesis-own-$(python3 -c 'import secrets; print(secrets.token_hex(12))')"
for user in st.worker st.manager; do
  mapfile -t h < <(login "$user")
  curl -fsS -o /dev/null -H "${h[0]}" -H "${h[1]}" -H 'content-type: application/json' \
    -d "{\"current_password\":\"$password\",\"new_password\":\"$own_password\"}" "$base/api/v1/me/password"
done
password="$own_password"

# Something to read, so list and record responses are checked against their schemas with
# data in them: a case (clearly fake person) and a published release.
seed() {
  local user="$1" path="$2" body="$3"
  mapfile -t h < <(login "$user")
  curl -fsS -o /dev/null -H "${h[0]}" -H "${h[1]}" -H 'content-type: application/json' -d "$body" "$base$path"
}
seed st.worker /api/v1/clients '{"area": "16681", "full_name": "Phạm Thị Giả Định", "chosen_name": "Hoa Giả",
  "date_of_birth": "1994-07-21", "id_number": "040195004321", "phone": "0912 345 678",
  "address": "Xóm 9, phường Thử Nghiệm", "notes": "Dữ liệu thử", "eligible": true, "opened_on": "2024-03-15",
  "consents": {"data_processing": true, "reporting": true, "volunteer_contact": true,
  "referral_sharing": ["loan", "vocational_training"]}}'
seed st.manager /api/v1/stats/releases '{"period": "2024-H1"}'

status=0
for user in st.worker st.manager; do
  echo "== schemathesis as $user"
  mapfile -t headers < <(login "$user")
  # Logging out would end the session the run uses; the login route is fuzzed anyway.
  # Run from the temporary folder so schemathesis's cache stays out of the work tree.
  (cd "$work" && "$venv/bin/st" run "$base/api/openapi.json" \
    --checks not_a_server_error,response_schema_conformance \
    --phases examples,coverage,fuzzing \
    --max-examples "$max_examples" \
    --max-time "$max_time" \
    --request-timeout 10 \
    --workers 2 \
    --seed 8 \
    --exclude-operation-id logout \
    --suppress-health-check all \
    --report junit --report-dir "$root/target/schemathesis/$user" \
    -H "${headers[0]}" -H "${headers[1]}") || status=1
done

if grep -q "panicked" "$work/server.log"; then
  echo "the server panicked:" >&2
  grep -B2 -A5 "panicked" "$work/server.log" >&2
  status=1
fi
exit "$status"
