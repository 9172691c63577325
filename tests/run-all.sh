#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Runs every test suite and ends with one line "N passed, N failed" over all of them:
#   deps    `make run`'s dependency path: the server configures and builds with only the runtime
#           package list's pkg-config files (scripts/check-runtime-deps.sh)
#   deploy  the Kubernetes, Compose, systemd, nginx and Docker files in deploy/, checked offline
#           against their schemas, the binary's options and its libraries (deploy/check.sh)
#   layers  includes follow the layer graph of docs/architecture.md (scripts/check-layers.py);
#           symbols are checked by the build itself (the layer-check-* link targets)
#   unit    C unit tests (cmocka, TAP output), build/tests/unit/test_* and its subfolders
#   sqlite  e2e suites (node --test) against the binary on SQLite (s3.test.mjs is the s3 suite's)
#   s3      media on an S3-compatible store: tests/e2e/s3.test.mjs, which starts s3rver (npm)
#           behind a SigV4-verifying proxy itself (tests/e2e/lib/s3.mjs)
#   pg      the same suites against a throwaway PostgreSQL server
#   cluster several nodes on one throwaway PostgreSQL and one throwaway Redis (--redis): realtime
#           events across nodes, Redis outages (tests/e2e/cluster-bus.test.mjs); then, unless
#           cluster-e2e runs them, 3 nodes behind nginx: a node killed mid-traffic
#           (cluster-failover), PgBouncer (pgbouncer)
#   cluster-e2e  the pg suite's files again, each server being 3 nodes + 2 workers behind nginx
#           with their own Redis (STREAMHUB_TEST_CLUSTER=3, tests/e2e/lib/cluster.mjs), plus what
#           only runs there: a node killed mid-traffic (cluster-failover), all through PgBouncer
#           (pgbouncer, which the pg suite runs on one node too)
#   asan    the e2e suites (s3 included) on an AddressSanitizer + UndefinedBehaviorSanitizer build
#   tsan    the hub's, the Redis bus's and SQLite's writer queue's unit tests and the socket e2e
#           suites (ws, ws-protocol, chat-ws, rooms, fanout), tracing (spans handed between
#           request, job and exporter threads), posts (concurrent likes sharing transactions),
#           foryou and feeds (the shared trending and exploration snapshots, the served sets in
#           memory) on a ThreadSanitizer build
#   fuzz    libFuzzer targets for a bounded time (fuzz/run.sh)
# STREAMHUB_TEST_ONLY=unit,sqlite runs a subset. Logs go to build/test-logs/.
set -uo pipefail
cd "$(dirname "$0")/.."
# cluster-e2e (every e2e file again through 3 nodes + 2 workers behind nginx) takes ~10 min on
# the 2-core machine, loaded by other work (docs/operations.md, "Tested that way")
only=${STREAMHUB_TEST_ONLY:-deps,layers,deploy,unit,sqlite,s3,pg,cluster,cluster-e2e,asan,tsan,fuzz}
logs=build/test-logs
mkdir -p "$logs"
total_pass=0
total_fail=0

wants() { [[ ",$only," == *",$1,"* ]]; }
record() { # suite pass fail
  echo "$1: $2 passed, $3 failed"
  total_pass=$((total_pass + $2))
  total_fail=$((total_fail + $3))
}

# Counts a node --test TAP log; a runner that crashed or ran nothing counts as one failure.
node_suite() { # name log status
  local pass fail
  pass=$(awk '/^# pass / {print $3}' "$2" | tail -n 1)
  fail=$(awk '/^# fail / {print $3}' "$2" | tail -n 1)
  if [ -z "$pass" ] || [ -z "$fail" ] || { [ "$pass" = 0 ] && [ "$fail" = 0 ]; }; then
    pass=${pass:-0}
    fail=$(( ${fail:-0} + 1 ))
  elif [ "$3" != 0 ] && [ "$fail" = 0 ]; then
    fail=1
  fi
  record "$1" "$pass" "$fail"
}

run_e2e() { # name bin [env...]; E2E_FILES narrows the suites
  local name=$1 bin=$2 log="$logs/$1.log"
  shift 2
  echo "== $name: e2e suites with $bin"
  # shellcheck disable=SC2086
  env STREAMHUB_BIN="$PWD/$bin" "$@" node --test --test-reporter=tap --test-concurrency=2 \
    ${E2E_FILES:-$(ls tests/e2e/*.test.mjs | grep -v '/s3\.test\.mjs$')} >"$log" 2>&1
  local status=$?
  grep -E '^not ok|^    not ok' "$log" | head -40
  node_suite "$name" "$log" "$status"
}

# A unit test run against a fresh PostgreSQL database: its URL in the environment variable the
# test reads. Needs the throwaway server of the pg suite.
pg_unit() { # suite database env_var test_binary
  local admin log="$logs/$1.log"
  admin=$(bash tests/pg.sh url)
  if psql -q "$admin" -c "DROP DATABASE IF EXISTS $2" -c "CREATE DATABASE $2" >"$log" 2>&1 &&
     env "$3=${admin%/postgres}/$2" CMOCKA_MESSAGE_OUTPUT=TAP "build/tests/unit/$4" >>"$log" 2>&1
  then
    record "$1" "$(grep -c '^ok ' "$log")" 0
  else
    grep '^not ok ' "$log"
    record "$1" "$(grep -c '^ok ' "$log")" "$(( $(grep -c '^not ok ' "$log") + 1 ))"
  fi
}

if wants deps; then
  echo "== deps: make run's dependency path"
  if bash scripts/check-runtime-deps.sh >"$logs/deps.log" 2>&1; then
    record deps 1 0
  else
    tail -30 "$logs/deps.log"
    record deps 0 1
  fi
fi

if wants layers; then
  echo "== layers: includes against the allowed graph (docs/architecture.md)"
  if python3 scripts/check-layers.py >"$logs/layers.log" 2>&1; then
    record layers 1 0
  else
    grep -v '^check-layers:' "$logs/layers.log" | head -40
    tail -1 "$logs/layers.log"
    record layers 0 1
  fi
fi

if wants deploy; then
  echo "== deploy: the deployment files, offline (deploy/check.sh)"
  if bash deploy/check.sh build/streamhub >"$logs/deploy.log" 2>&1; then
    record deploy 1 0
  else
    grep -v '^deploy: .* (checked|verified|tested)' "$logs/deploy.log" | head -40
    record deploy 0 1
  fi
fi

if wants unit; then
  echo "== unit: C unit tests"
  pass=0 fail=0
  # the flat suites and those in the folders that mirror src/ (tests/unit/domain/...)
  while IFS= read -r t; do
    name=${t#build/tests/unit/}
    log="$logs/unit-${name//\//-}.log"
    CMOCKA_MESSAGE_OUTPUT=TAP "$t" </dev/null >"$log" 2>&1
    status=$?
    p=$(grep -c '^ok ' "$log")
    f=$(grep -c '^not ok ' "$log")
    grep '^not ok ' "$log"
    [ "$status" != 0 ] && [ "$f" = 0 ] && f=1
    pass=$((pass + p))
    fail=$((fail + f))
  done < <(find build/tests/unit -name 'test_*' -type f -executable | sort)
  record unit "$pass" "$fail"
fi

if wants sqlite; then
  run_e2e sqlite build/streamhub
fi

if wants s3; then
  E2E_FILES=tests/e2e/s3.test.mjs run_e2e s3 build/streamhub
fi

if wants pg; then
  echo "== pg: starting a throwaway PostgreSQL"
  if bash tests/pg.sh start; then
    trap 'bash tests/pg.sh stop' EXIT
    run_e2e pg build/streamhub STREAMHUB_TEST_PG="$(bash tests/pg.sh url)"
    # Unit tests that take a database URL, again on PostgreSQL, each in an empty database:
    # the job queue (FOR UPDATE SKIP LOCKED), search folding's migration (rows written before
    # migration 23), every migration from zero (the schema in tests/unit/migrations/), and the
    # node-id leases (the upsert that takes an expired lease, the database's clock), the analytics
    # rollup (multi-row upserts, member sets merged across windows).
    pg_unit pg-jobs unit_jobs STREAMHUB_JOBS_TEST_DB test_jobs
    pg_unit pg-search unit_search STREAMHUB_SEARCH_TEST_DB test_units
    pg_unit pg-migrations unit_migrations STREAMHUB_MIGRATIONS_TEST_DB test_migrations
    pg_unit pg-nodes unit_nodes STREAMHUB_NODES_TEST_DB jobs/test_node_lease
    pg_unit pg-analytics unit_analytics STREAMHUB_ANALYTICS_TEST_DB domain/test_analytics_rollup
    bash tests/pg.sh stop
    trap - EXIT
  else
    record pg 0 1
  fi
fi

if wants cluster; then
  echo "== cluster: starting a throwaway PostgreSQL and Redis"
  if bash tests/pg.sh start && bash tests/redis.sh start; then
    trap 'bash tests/pg.sh stop; bash tests/redis.sh stop' EXIT
    E2E_FILES="tests/e2e/cluster-bus.test.mjs" run_e2e cluster build/streamhub \
      STREAMHUB_TEST_PG="$(bash tests/pg.sh url)" STREAMHUB_TEST_REDIS="$(bash tests/redis.sh url)"
    # 3 nodes + 2 workers behind nginx: a node killed mid-traffic, and the whole through PgBouncer
    # (the cluster-e2e suite runs both among its files: here only when it does not run)
    if ! wants cluster-e2e; then
      E2E_FILES="tests/e2e/cluster-failover.test.mjs tests/e2e/pgbouncer.test.mjs" \
        run_e2e cluster-nodes build/streamhub STREAMHUB_TEST_PG="$(bash tests/pg.sh url)" \
        STREAMHUB_TEST_CLUSTER=3
    fi
    bash tests/pg.sh stop
    bash tests/redis.sh stop
    trap - EXIT
  else
    bash tests/pg.sh stop
    record cluster 0 1
  fi
fi

if wants cluster-e2e; then
  echo "== cluster-e2e: the e2e suites through nginx to 3 nodes on a throwaway PostgreSQL"
  if bash tests/pg.sh start; then
    trap 'bash tests/pg.sh stop' EXIT
    started=$SECONDS
    # every file of the pg suite (cluster-bus starts its own nodes on its own Redis)
    E2E_FILES="$(ls tests/e2e/*.test.mjs | grep -v -e '/s3\.test\.mjs$' -e '/cluster-bus\.test\.mjs$')" \
      run_e2e cluster-e2e build/streamhub STREAMHUB_TEST_PG="$(bash tests/pg.sh url)" STREAMHUB_TEST_CLUSTER=3
    echo "cluster-e2e: $((SECONDS - started)) s"
    bash tests/pg.sh stop
    trap - EXIT
  else
    bash tests/pg.sh stop
    record cluster-e2e 0 1
  fi
fi

if wants asan; then
  echo "== asan: building with AddressSanitizer + UndefinedBehaviorSanitizer"
  if { [ -f build-asan/build.ninja ] || meson setup build-asan --buildtype=debug \
        -Db_sanitize=address,undefined -Db_lundef=false >"$logs/asan-setup.log" 2>&1; } &&
     ninja -C build-asan >"$logs/asan-build.log" 2>&1; then
    # every suite, the s3 one included (its proxied reads cross threads)
    E2E_FILES="$(ls tests/e2e/*.test.mjs)" run_e2e asan build-asan/streamhub ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
      UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
  else
    tail -30 "$logs/asan-build.log" "$logs/asan-setup.log" 2>/dev/null
    record asan 0 1
  fi
fi

if wants tsan; then
  # The hub's threads (epoll loops, the command pool, bus publishers, libmicrohttpd's) under
  # ThreadSanitizer. A report makes the server exit 66, which the harness turns into a failure;
  # the log is also grepped in case a report came from a process that exited cleanly anyway.
  echo "== tsan: building with ThreadSanitizer"
  if { [ -f build-tsan/build.ninja ] || meson setup build-tsan --buildtype=debug \
        -Db_sanitize=thread -Db_lundef=false >"$logs/tsan-setup.log" 2>&1; } &&
     ninja -C build-tsan streamhub tests/unit/test_hub tests/unit/core/test_bus_redis \
       tests/unit/store/test_db_writer \
       >"$logs/tsan-build.log" 2>&1; then
    # the hub, the Redis bus's reader, publishers and subscribers (its own redis-server), and
    # SQLite's writer queue and group commit
    for t in test_hub core/test_bus_redis store/test_db_writer; do
      log="$logs/tsan-unit-${t//\//-}.log"
      TSAN_OPTIONS=halt_on_error=1:exitcode=66 CMOCKA_MESSAGE_OUTPUT=TAP \
        "build-tsan/tests/unit/$t" >"$log" 2>&1
      status=$?
      f=$(grep -c '^not ok ' "$log")
      [ "$status" != 0 ] && [ "$f" = 0 ] && f=1
      grep -m 1 -A 12 'WARNING: ThreadSanitizer' "$log"
      record "tsan-unit-${t##*/}" "$(grep -c '^ok ' "$log")" "$f"
    done
    E2E_FILES="tests/e2e/ws.test.mjs tests/e2e/ws-protocol.test.mjs tests/e2e/chat-ws.test.mjs tests/e2e/rooms.test.mjs tests/e2e/fanout.test.mjs tests/e2e/tracing.test.mjs tests/e2e/posts.test.mjs tests/e2e/foryou.test.mjs tests/e2e/feeds.test.mjs" run_e2e tsan \
      build-tsan/streamhub TSAN_OPTIONS=halt_on_error=1:exitcode=66:second_deadlock_stack=1 \
      STREAMHUB_WS_THREADS=2
    if grep -q 'WARNING: ThreadSanitizer' "$logs/tsan.log"; then
      grep -m 3 -A 12 'WARNING: ThreadSanitizer' "$logs/tsan.log"
      record tsan-reports 0 1
    fi
  else
    tail -30 "$logs/tsan-build.log" "$logs/tsan-setup.log" 2>/dev/null
    record tsan 0 1
  fi
fi

if wants fuzz && [ -x fuzz/run.sh ]; then
  echo "== fuzz: libFuzzer targets"
  fuzz/run.sh >"$logs/fuzz.log" 2>&1
  status=$?
  tail -n 15 "$logs/fuzz.log"
  line=$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$logs/fuzz.log" | tail -n 1)
  p=$(echo "$line" | awk '{print $1}')
  f=$(echo "$line" | awk '{print $3}')
  [ -z "$line" ] && { p=0; f=1; }
  [ "$status" != 0 ] && [ "${f:-0}" = 0 ] && f=1
  record fuzz "${p:-0}" "${f:-1}"
fi

echo "$total_pass passed, $total_fail failed"
[ "$total_fail" = 0 ]
