#!/usr/bin/env bash
# Load on the web service (samples/WebService) with Debian's `hey`, on loopback, in bounded runs:
#   bash samples/load-test.sh --model PATH [--image FILE] [--requests N] [--clients "1 8 32 128"] [--batches "8 1"]
#                             [--max-wait-ms N] [--hostile-clients N] [--memory-requests N] [--port N]
# For each --max-batch in --batches (8: batching on, 1: off) and each client count: N requests of one JPEG; then, at
# --hostile-clients, the same with one request in ten hostile (not an image, truncated, over the 20 MB body limit, a PNG
# header claiming 100000×100000), sent concurrently by separate hey processes; then the service's resident memory
# (VmRSS) sampled every second over --memory-requests requests. Prints markdown tables.
set -euo pipefail
cd "$(dirname "$0")/.."
model="" image=tests/fixtures/generated/images/round/round_00.jpg requests=2000 clients="1 8 32 128" batches="8 1"
wait_ms=5 hostile_clients=32 memory_requests=20000 port=5091
while [ $# -gt 0 ]; do
  case "$1" in
    --model) model=$2; shift 2 ;;
    --image) image=$2; shift 2 ;;
    --requests) requests=$2; shift 2 ;;
    --clients) clients=$2; shift 2 ;;
    --batches) batches=$2; shift 2 ;;
    --max-wait-ms) wait_ms=$2; shift 2 ;;
    --hostile-clients) hostile_clients=$2; shift 2 ;;
    --memory-requests) memory_requests=$2; shift 2 ;;
    --port) port=$2; shift 2 ;;
    *) echo "load-test: unknown option '$1' (see the header of $0)" >&2; exit 2 ;;
  esac
done
[ -n "$model" ] || { echo "load-test: --model PATH is required (a run folder, model.onnx or model.zip)" >&2; exit 2; }
[ -f "$image" ] || { echo "load-test: --image '$image' does not exist (bash scripts/make-fixtures.sh makes the default)" >&2; exit 2; }
command -v hey >/dev/null || { echo "load-test: hey is not installed (apt-get install hey; scripts/setup.sh installs it)" >&2; exit 2; }

work=artifacts/load-test; mkdir -p "$work"
dotnet build samples/WebService -c Release -nologo -v quiet >&2
url="http://127.0.0.1:$port"
pid=""
stop() { [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null; pid=""; }
trap stop EXIT
start() {
  dotnet samples/WebService/bin/Release/net10.0/linux-x64/WebService.dll --model "$model" --port "$port" \
    --max-batch "$1" --max-wait-ms "$wait_ms" --queue 4096 > "$work/service-$1.log" 2>&1 &
  pid=$!
  for _ in $(seq 600); do curl -sf "$url/health" >/dev/null && break; sleep 0.2; done
  curl -sf "$url/health" >/dev/null || { cat "$work/service-$1.log" >&2; exit 1; }
  hey -n 50 -c 4 -m POST -T image/jpeg -D "$image" "$url/predict" >/dev/null   # warm-up: sessions, JIT, pools
}
# One hey report as "req/s | p50 ms | p99 ms | statuses" and its count of requests that got no answer.
summary() {
  awk '/Requests\/sec:/ { rps = $2 }
       / 50% in / { p50 = $3 * 1000 } / 99% in / { p99 = $3 * 1000 }
       /^Status code distribution/ { s = 1; next } /^Error distribution/ { s = 0 }
       s && /\[[0-9]+\]/ { code = $1; gsub(/[][]/, "", code); codes = codes (codes ? ", " : "") $2 " × " code }
       END { printf "%.1f | %.0f | %.0f | %s", rps, p50, p99, codes }' "$1"
}
errors() {
  awk '/^Error distribution/ { e = 1; next } e && /\[[0-9]+\]/ { n = $1; gsub(/[][]/, "", n); total += n } END { print total + 0 }' "$1"
}

echo "Machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs); load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "Model: $model; image: $image ($(stat -c %s "$image") bytes); $requests requests per row; --max-wait-ms $wait_ms"
echo
echo "| --max-batch | clients | requests/s | p50 ms | p99 ms | statuses | connection errors |"
echo "|---|---|---|---|---|---|---|"
for batch in $batches; do
  start "$batch"
  for c in $clients; do
    n=$(( requests > c ? requests : c ))
    hey -n "$n" -c "$c" -m POST -T image/jpeg -D "$image" "$url/predict" > "$work/b$batch-c$c.txt"
    echo "| $batch | $c | $(summary "$work/b$batch-c$c.txt") | $(errors "$work/b$batch-c$c.txt") |"
  done
  stop
done

# Hostile bodies: each kind gets 1/40 of the requests from its own client, so one request in ten is hostile.
head -c 4096 /dev/urandom | base64 > "$work/not-an-image.txt"
head -c "$(( $(stat -c %s "$image") / 2 ))" "$image" > "$work/truncated.jpg"
head -c 21000000 /dev/zero > "$work/oversized.jpg"
python3 - "$work/huge-header.png" <<'PY'
import struct, sys, zlib
def chunk(kind, data): return struct.pack('>I', len(data)) + kind + data + struct.pack('>I', zlib.crc32(kind + data) & 0xffffffff)
png = b'\x89PNG\r\n\x1a\n' + chunk(b'IHDR', struct.pack('>IIBBBBB', 100000, 100000, 8, 2, 0, 0, 0)) + chunk(b'IDAT', zlib.compress(b'\0' * 1000)) + chunk(b'IEND', b'')
open(sys.argv[1], 'wb').write(png)
PY
echo
echo "Hostile run, --max-batch 8, $hostile_clients clients, one request in ten hostile:"
echo
echo "| requests | requests/s | p50 ms | p99 ms | statuses | connection errors |"
echo "|---|---|---|---|---|---|"
for batch in 8; do
  start "$batch"
  bad=$(( requests / 40 )); good=$(( requests - 4 * bad ))
  hey -n "$good" -c $(( hostile_clients - 4 > 0 ? hostile_clients - 4 : 1 )) -m POST -T image/jpeg -D "$image" "$url/predict" > "$work/hostile-good.txt" &
  goodpid=$!
  hostile=()
  hey -n "$bad" -c 1 -m POST -T image/png -D "$work/not-an-image.txt" "$url/predict" > "$work/hostile-text.txt" & hostile+=($!)
  hey -n "$bad" -c 1 -m POST -T image/jpeg -D "$work/truncated.jpg" "$url/predict" > "$work/hostile-truncated.txt" & hostile+=($!)
  hey -n "$bad" -c 1 -m POST -T image/jpeg -D "$work/oversized.jpg" "$url/predict" > "$work/hostile-oversized.txt" & hostile+=($!)
  hey -n "$bad" -c 1 -m POST -T image/png -D "$work/huge-header.png" "$url/predict" > "$work/hostile-huge.txt" & hostile+=($!)
  wait "$goodpid" "${hostile[@]}"
  for kind in good text truncated oversized huge; do
    echo "| $kind: $( [ $kind = good ] && echo "$good" || echo "$bad") | $(summary "$work/hostile-$kind.txt") | $(errors "$work/hostile-$kind.txt") |"
  done
  curl -s "$url/health"; echo
  stop
done

echo
echo "Resident memory over $memory_requests requests (--max-batch 8, 32 clients), VmRSS sampled every second:"
start 8
rss() { awk '/VmRSS/ { print $2 }' "/proc/$pid/status"; }
: > "$work/rss.txt"
( while kill -0 "$pid" 2>/dev/null; do echo "$(date +%s) $(rss)" >> "$work/rss.txt"; sleep 1; done ) &
sampler=$!
hey -n "$memory_requests" -c 32 -m POST -T image/jpeg -D "$image" "$url/predict" > "$work/memory.txt"
kill "$sampler" 2>/dev/null || true; wait "$sampler" 2>/dev/null || true
echo "requests: $(summary "$work/memory.txt"); connection errors $(errors "$work/memory.txt")"
awk '{ v[NR] = $2 } END { n = NR; printf "VmRSS MB: start %.0f, 25%% %.0f, 50%% %.0f, 75%% %.0f, end %.0f, max ", v[1]/1024, v[int(n/4)+1]/1024, v[int(n/2)+1]/1024, v[int(3*n/4)+1]/1024, v[n]/1024;
     m = 0; for (i = 1; i <= n; i++) if (v[i] > m) m = v[i]; printf "%.0f (%d samples)\n", m/1024, n }' "$work/rss.txt"
stop
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
