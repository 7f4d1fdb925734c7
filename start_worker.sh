#!/usr/bin/env bash
# Start WORKER_COUNT RQ workers of this STT server and forward SIGTERM/SIGINT to them.
# Each worker is named "$WORKER_ID-<n>" (just "$WORKER_ID" when WORKER_COUNT=1), finishes its current job
# on SIGTERM and exits; this script exits 0 when they all did.
set -uo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
python=${PYTHON:-"$root/.venv/bin/python"}
[[ -x $python ]] || python=python3
count=${WORKER_COUNT:-1}
base_id=${WORKER_ID:-$(hostname)}

pids=()
stop() {
  trap - TERM INT
  kill -TERM "${pids[@]}" 2>/dev/null
}
trap stop TERM INT

for ((i = 1; i <= count; i++)); do
  id=$base_id
  ((count > 1)) && id="$base_id-$i"
  WORKER_ID=$id "$python" "$root/back-end/workers/rq_worker.py" &
  pids+=($!)
done

status=0
for pid in "${pids[@]}"; do
  # `wait` returns early when a trapped signal arrives: keep waiting until the worker is gone,
  # then ask once more for its exit status (bash remembers it).
  while kill -0 "$pid" 2>/dev/null; do wait "$pid"; done
  wait "$pid"
  code=$?
  ((code != 0)) && status=$code
done
exit $status
