#!/usr/bin/env bash
# Switchboard load benchmark: SIPp callers against a real server, figures out.
#
#   bench/load.sh            # levels 100 and 500 (concurrent calls)
#   bench/load.sh 100 500 1000
#
# For each level N it starts a fresh server (so the send-interval histogram
# covers that level only), places N calls with SIPp (bench/uac-echo.xml,
# -rtp_echo, each held HOLD_MS), samples the server's CPU time and RSS while
# all N calls are up, then checks that calls and RTP ports go back to 0.
# See bench/README.md for the columns. It is a benchmark, not a test: the
# exit status is 0 when every level ran, whatever the figures; it is 1 when
# the server or sipp could not be run.
#
# Environment: HOLD_MS (call length, default 10000), RATE (new calls per
# second, default 200), WINDOW (CPU sampling window in s, default 5),
# KEEP=1 (keep the temp dir with logs and sipp stats), PROFILE=1 (take a
# CPU profile of the server over the window and print its top entries; the
# profiler adds a little CPU), SWITCHBOARD_BIN (use this binary, no build),
# ASR_BACKEND (asr.backend of the server, default none: the SIP and media
# path, with the VAD on every frame; sphinx adds the recognizer, which
# hears the echoed prompt as a caller who never stops talking).
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$PWD
export PATH="$PATH:/usr/local/go/bin:$HOME/go/bin"

HOLD_MS=${HOLD_MS:-10000}
RATE=${RATE:-200}
WINDOW=${WINDOW:-5}
ASR_BACKEND=${ASR_BACKEND:-none}
BIN=${SWITCHBOARD_BIN:-$ROOT/bin/switchboard}
SCENARIO=$ROOT/bench/uac-echo.xml
FLOW=$ROOT/configs/flows/bench.yaml
LEVELS=("$@")
[ ${#LEVELS[@]} -gt 0 ] || LEVELS=(100 500)
for n in "${LEVELS[@]}"; do
	[[ $n =~ ^[1-9][0-9]*$ ]] || { echo "usage: $0 [CONCURRENT_CALLS ...]" >&2; exit 2; }
done

die() { echo "load.sh: $*" >&2; exit 1; }
command -v sipp >/dev/null || die "sipp not found (apt-get install sip-tester)"
command -v curl >/dev/null || die "curl not found"

# --- build if needed ---------------------------------------------------------
if [ -z "${SWITCHBOARD_BIN:-}" ]; then
	if [ ! -x "$BIN" ] || [ -n "$(find . -name '*.go' -newer "$BIN" -print -quit)" ] ||
		[ go.mod -nt "$BIN" ]; then
		echo "building $BIN"
		if ! make --no-print-directory build >&2; then
			[ -x "$BIN" ] || die "build failed"
			echo "load.sh: build failed; using the existing $BIN" >&2
		fi
	fi
fi
[ -x "$BIN" ] || die "no server binary at $BIN"

ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

TMP=$(mktemp -d "${TMPDIR:-/tmp}/switchboard-bench.XXXXXX")
SRV_PID="" SIPP_PID=""

# stop_server [SIG]: SIGTERM by default (calls are over by then); cleanup
# uses SIGINT, which hangs up live calls at once, while sipp can still answer
# the BYEs (a BYE nobody answers holds the server up to 32 s).
stop_server() {
	[ -n "$SRV_PID" ] || return 0
	local pid=$SRV_PID sig=${1:-TERM} i
	SRV_PID=""
	kill -"$sig" "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null || true; return 0; }
	for ((i = 0; i < 150; i++)); do # 15 s: the temp config has a 5 s grace
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$pid" 2>/dev/null; then
		echo "load.sh: server $pid did not exit 15 s after SIGTERM; killing it" >&2
		kill -KILL "$pid" 2>/dev/null || true
	fi
	wait "$pid" 2>/dev/null || true
}

cleanup() {
	local rc=$?
	trap - EXIT INT TERM
	if [ -n "$SIPP_PID" ]; then
		stop_server INT
		kill -TERM "$SIPP_PID" 2>/dev/null || true
		sleep 0.5
		kill -KILL "$SIPP_PID" 2>/dev/null || true
		wait "$SIPP_PID" 2>/dev/null || true
	fi
	stop_server
	if [ "${KEEP:-0}" = 1 ]; then
		echo "logs kept in $TMP" >&2
	else
		rm -rf "$TMP"
	fi
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# --- helpers -----------------------------------------------------------------

# free_port udp|tcp [pair]: a port in 40000-59998 that nothing is bound to;
# with "pair", an even one whose +2 is free too (sipp -rtp_echo binds the
# media port and media port + 2).
free_port() {
	local proto=$1 pair=${2:-} used p i
	used=$(ss -Han "--$proto" 2>/dev/null | awk '{n=split($4,a,":"); print a[n]}' | sort -u)
	for ((i = 0; i < 200; i++)); do
		p=$((40000 + 2 * (RANDOM % 10000)))
		grep -qx "$p" <<<"$used" && continue
		if [ -n "$pair" ]; then
			grep -qx "$((p + 2))" <<<"$used" && continue
			grep -qx "$((p + 1))" <<<"$used" && continue
		fi
		echo "$p"
		return 0
	done
	die "no free $proto port found"
}

METRICS=""
scrape() { METRICS=$(curl -sf --max-time 2 "http://$HTTP_ADDR/metrics" || true); }
metric() { awk -v m="$1" '$1 == m {print $2; f=1} END {if (!f) print "NaN"}' <<<"$METRICS"; }

# cpu_ticks PID: utime+stime in clock ticks (fields 14 and 15 of stat, counted
# after the ")" that ends the command name).
cpu_ticks() { { sed 's/.*) //' "/proc/$1/stat" 2>/dev/null || true; } | awk '{print $12 + $13}'; }
rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status" 2>/dev/null || true; }
now() { date +%s.%N; }
CLK_TCK=$(getconf CLK_TCK)

# csv_col FILE NAME: NAME's value in the last row of sipp's ;-separated stats
csv_col() {
	awk -F';' -v c="$2" 'NR == 1 {for (i = 1; i <= NF; i++) if ($i == c) k = i; next}
		{v = $k} END {print (k && v != "" ? v : "NaN")}' "$1"
}
csv_max() {
	awk -F';' -v c="$2" 'NR == 1 {for (i = 1; i <= NF; i++) if ($i == c) k = i; next}
		k && $k + 0 > m {m = $k + 0} END {print m + 0}' "$1"
}
ms() { awk -v s="$1" 'BEGIN {if (s == "NaN") print "NaN"; else printf "%.1fms", s * 1000}'; }

MAX_LEVEL=0
for n in "${LEVELS[@]}"; do ((n > MAX_LEVEL)) && MAX_LEVEL=$n; done

mkdir "$TMP/flows"
cp "$FLOW" "$TMP/flows/bench.yaml"
cat >"$TMP/switchboard.yaml" <<EOF
# written by bench/load.sh
sip:
  max_calls: $((MAX_LEVEL + 100))
media:
  bind_address: 127.0.0.1
  rtp_ports: 10000-30000
  timeout: 30s
log:
  level: warn
${ASR_BACKEND:+asr:
  backend: $ASR_BACKEND
}flows:
  bench: flows/bench.yaml
default_flow: bench
shutdown_grace: 5s
EOF

printf 'switchboard load benchmark: %s, hold %d ms, %d calls/s, %d cores, %s%s\n' \
	"$("$BIN" version 2>/dev/null || echo switchboard)" "$HOLD_MS" "$RATE" "$(nproc)" "$(sipp -v 2>&1 | grep -o 'SIPp v[^ ]*' | head -1)" \
	"${ASR_BACKEND:+, asr backend $ASR_BACKEND}"

declare -A RES_FAILED RES_CPU RES_RSS RES_P99
STATUS=0

run_level() {
	local n=$1 dir="$TMP/level-$n"
	mkdir -p "$dir"
	local sip_port http_port sipp_port media_port
	sip_port=$(free_port udp)
	http_port=$(free_port tcp)
	sipp_port=$(free_port udp)
	while [ "$sipp_port" = "$sip_port" ]; do sipp_port=$(free_port udp); done
	media_port=$(free_port udp pair)
	HTTP_ADDR=127.0.0.1:$http_port

	# --- server ---
	"$BIN" serve --config "$TMP/switchboard.yaml" --listen "udp:127.0.0.1:$sip_port" \
		--http "$HTTP_ADDR" >"$dir/server.log" 2>&1 &
	SRV_PID=$!
	local i ready=0
	for ((i = 0; i < 300; i++)); do # the prompt is rendered at start-up
		kill -0 "$SRV_PID" 2>/dev/null || break
		if curl -sf --max-time 1 "http://$HTTP_ADDR/healthz" >/dev/null 2>&1; then ready=1; break; fi
		sleep 0.1
	done
	if [ $ready != 1 ]; then
		cat "$dir/server.log" >&2
		die "server did not start (level $n)"
	fi
	sleep 1
	local srv=$SRV_PID rss_before
	rss_before=$(rss_kb "$srv")

	# --- callers ---
	local ramp_s=$(((n + RATE - 1) / RATE))
	local recv_to=$((15000))
	(
		cd "$dir"
		exec sipp "127.0.0.1:$sip_port" -sf "$SCENARIO" -s bench \
			-i 127.0.0.1 -mi 127.0.0.1 -p "$sipp_port" -mp "$media_port" -rtp_echo \
			-d "$HOLD_MS" -m "$n" -l "$n" -r "$RATE" -rp 1000 \
			-recv_timeout "$recv_to" -timeout "$((ramp_s + HOLD_MS / 1000 + 90))s" \
			-max_socket 60000 -nostdin \
			-trace_stat -stf stats.csv -fd 1 \
			-trace_err -error_file errors.log -trace_logs -log_file calls.log
	) >"$dir/sipp.out" 2>&1 &
	SIPP_PID=$!

	# --- wait for all N calls to be up (or for sipp to end) ---
	local peak=0 active deadline t0 steady=0
	t0=$(now)
	deadline=$(awk -v t="$t0" -v r="$ramp_s" 'BEGIN {printf "%.3f", t + r + 10}')
	while kill -0 "$SIPP_PID" 2>/dev/null; do
		scrape
		active=$(metric switchboard_calls_active)
		[ "$active" != NaN ] && ((${active%.*} > peak)) && peak=${active%.*}
		if [ "$active" != NaN ] && ((${active%.*} >= n)); then steady=1; break; fi
		awk -v d="$deadline" -v t="$(now)" 'BEGIN {exit !(t > d)}' && break
		sleep 0.1
	done

	# --- steady state: CPU over WINDOW seconds, RSS, goroutines ---
	local cpu_pct=NaN rss_during=NaN goroutines=NaN window=NaN sipp_cpu=NaN steady_note=""
	if [ $steady = 1 ]; then
		local c0 c1 s0 s1 w0 w1 active_end
		local prof_pid=""
		if [ "${PROFILE:-0}" = 1 ]; then
			curl -sf --max-time "$((WINDOW + 10))" -o "$dir/cpu.pprof" \
				"http://$HTTP_ADDR/debug/pprof/profile?seconds=$WINDOW" &
			prof_pid=$!
		fi
		w0=$(now); c0=$(cpu_ticks "$srv"); s0=$(cpu_ticks "$SIPP_PID")
		sleep "$WINDOW"
		w1=$(now); c1=$(cpu_ticks "$srv"); s1=$(cpu_ticks "$SIPP_PID")
		rss_during=$(rss_kb "$srv")
		scrape
		active_end=$(metric switchboard_calls_active)
		goroutines=$(metric go_goroutines)
		[ "$active_end" != NaN ] && ((${active_end%.*} > peak)) && peak=${active_end%.*}
		[ -z "$prof_pid" ] || wait "$prof_pid" || true
		window=$(awk -v a="$w0" -v b="$w1" 'BEGIN {printf "%.2f", b - a}')
		cpu_pct=$(awk -v a="$c0" -v b="$c1" -v w="$window" -v hz="$CLK_TCK" 'BEGIN {printf "%.1f", (b - a) / hz / w * 100}')
		[ -n "$s0" ] && [ -n "$s1" ] &&
			sipp_cpu=$(awk -v a="$s0" -v b="$s1" -v w="$window" -v hz="$CLK_TCK" 'BEGIN {printf "%.1f", (b - a) / hz / w * 100}')
		if [ "$active_end" = NaN ] || ((${active_end%.*} < n)); then
			steady_note=" (calls_active fell to $active_end before the window ended: raise HOLD_MS or RATE)"
		fi
	else
		steady_note=" (never reached $n concurrent calls; peak $peak)"
	fi

	# --- let sipp finish ---
	while kill -0 "$SIPP_PID" 2>/dev/null; do
		scrape
		active=$(metric switchboard_calls_active)
		[ "$active" != NaN ] && ((${active%.*} > peak)) && peak=${active%.*}
		sleep 0.5
	done
	local sipp_rc=0
	wait "$SIPP_PID" || sipp_rc=$?
	SIPP_PID=""

	# --- does everything go back to 0? ---
	local calls_active ports total p99 pmax
	for ((i = 0; i < 100; i++)); do
		scrape
		calls_active=$(metric switchboard_calls_active)
		ports=$(metric switchboard_rtp_ports_in_use)
		[ "$calls_active" = 0 ] && [ "$ports" = 0 ] && break
		sleep 0.1
	done
	total=$(metric switchboard_calls_total)
	p99=$(metric switchboard_rtp_send_interval_p99_seconds)
	pmax=$(metric switchboard_rtp_send_interval_max_seconds)
	stop_server

	# --- figures ---
	local stats="$dir/stats.csv" ok failed sfailed
	if [ -s "$stats" ]; then
		ok=$(csv_col "$stats" 'SuccessfulCall(C)')
		sfailed=$(csv_col "$stats" 'FailedCall(C)')
	else
		ok=0 sfailed=NaN
	fi
	failed=$((n - ${ok:-0}))
	local cpu_call=NaN rss_call=NaN rss_total=NaN conc=$n
	[ $steady = 1 ] || conc=$peak
	if [ "$cpu_pct" != NaN ] && ((conc > 0)); then
		cpu_call=$(awk -v c="$cpu_pct" -v n="$conc" 'BEGIN {printf "%.3f", c / n}')
	fi
	if [ "$rss_during" != NaN ] && [ -n "$rss_during" ] && ((conc > 0)); then
		rss_call=$(awk -v a="$rss_before" -v b="$rss_during" -v n="$conc" 'BEGIN {printf "%.0f", (b - a) / n}')
		rss_total=$(awk -v b="$rss_during" 'BEGIN {printf "%.0f", b / 1024}')
	fi
	printf 'calls=%d failed=%d peak_concurrent=%d cpu_per_call=%s%%core rss_per_call=%sKB rss_total=%sMB send_interval_p99=%s send_interval_max=%s\n' \
		"$n" "$failed" "$peak" "$cpu_call" "$rss_call" "$rss_total" "$(ms "$p99")" "$(ms "$pmax")"
	printf '  steady state: window=%ss server_cpu=%s%%core rss_before=%sMB goroutines=%s sipp_cpu=%s%%core%s\n' \
		"$window" "$cpu_pct" "$(awk -v a="$rss_before" 'BEGIN {printf "%.1f", a / 1024}')" "$goroutines" "$sipp_cpu" "$steady_note"
	local leak=ok
	{ [ "$calls_active" = 0 ] && [ "$ports" = 0 ]; } || leak="NOT BACK TO 0"
	printf '  after: switchboard_calls_active=%s switchboard_rtp_ports_in_use=%s switchboard_calls_total=%s (%s)\n' \
		"$calls_active" "$ports" "$total" "$leak"
	if [ -s "$stats" ]; then
		local reasons="" col v
		for col in FailedCannotSendMessage FailedMaxUDPRetrans FailedTcpConnect FailedTcpClosed \
			FailedUnexpectedMessage FailedCallRejected FailedCmdNotSent FailedRegexpDoesntMatch \
			FailedRegexpShouldntMatch FailedRegexpHdrNotFound FailedOutboundCongestion \
			FailedTimeoutOnRecv FailedTimeoutOnSend FailedTestDoesntMatch FailedTestShouldntMatch \
			FailedStrcmpDoesntMatch FailedStrcmpShouldntMatch Retransmissions; do
			v=$(csv_col "$stats" "$col(C)")
			[ "$v" = 0 ] || reasons+=" $col=$v"
		done
		[ -n "$reasons" ] || reasons=" (no failure counter above 0, no retransmissions)"
		printf '  sipp: exit=%d successful=%s failed=%s%s peak_current=%s\n' \
			"$sipp_rc" "$ok" "$sfailed" "$reasons" "$(csv_max "$stats" CurrentCall)"
	else
		printf '  sipp: exit=%d, no statistics written; its output:\n' "$sipp_rc"
		sed 's/^/    /' "$dir/sipp.out" | tail -20
	fi
	local hung_up
	hung_up=$(grep -c SERVER_BYE "$dir/calls.log" 2>/dev/null || true)
	[ "${hung_up:-0}" -gt 0 ] && printf '  sipp: %s calls were hung up by the server (BYE)\n' "$hung_up"
	if [ -s "$dir/errors.log" ]; then
		printf '  sipp errors (%s lines), first ones:\n' "$(wc -l <"$dir/errors.log")"
		grep -v '^\s*$' "$dir/errors.log" | head -5 | cut -c1-200 | sed 's/^/    /'
	fi
	local warns
	warns=$(grep -cE 'level=(WARN|ERROR)' "$dir/server.log" || true)
	if [ "${warns:-0}" -gt 0 ]; then
		printf '  server log: %s warnings/errors, by message:\n' "$warns"
		grep -oE 'level=(WARN|ERROR) msg=("[^"]*"|[^ ]*)' "$dir/server.log" | sort | uniq -c | sort -rn | head -10 | sed 's/^/   /'
	else
		printf '  server log: no warnings or errors\n'
	fi
	if [ -s "$dir/cpu.pprof" ]; then
		printf '  CPU profile of the window (go tool pprof -top), first entries:\n'
		go tool pprof -top "$BIN" "$dir/cpu.pprof" 2>/dev/null | sed -n '1,25p' | sed 's/^/    /'
	fi
	if ((sipp_rc >= 97)); then STATUS=1; fi

	RES_FAILED[$n]=$failed RES_CPU[$n]=$cpu_call RES_RSS[$n]=$rss_call RES_P99[$n]=$p99
}

for n in "${LEVELS[@]}"; do
	run_level "$n"
done

# --- targets, at the highest level ---
n=$MAX_LEVEL
verdict() { if awk "BEGIN {exit !($1)}"; then echo met; else echo "NOT MET"; fi; }
echo "targets at calls=$n:"
echo "  0 failed calls:              failed=${RES_FAILED[$n]}: $(verdict "${RES_FAILED[$n]} == 0")"
c=${RES_CPU[$n]}
echo "  CPU per call <= 0.05%core:   ${c}%core: $( [ "$c" = NaN ] && echo "NOT MEASURED" || verdict "$c <= 0.05")"
p=${RES_P99[$n]}
echo "  send interval p99 <= 22 ms:  $(ms "$p"): $( [ "$p" = NaN ] && echo "NOT MEASURED" || verdict "$p <= 0.022")"
r=${RES_RSS[$n]}
echo "  memory per call <= 100 KB:   ${r}KB: $( [ "$r" = NaN ] && echo "NOT MEASURED" || verdict "$r <= 100")"
exit $STATUS
