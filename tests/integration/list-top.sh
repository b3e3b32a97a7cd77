# `rigwatch list` and `rigwatch top` against a real agent watching real cgroups, in a real terminal (tmux):
# list shows the agent's own /verdicts (its JSON output is that document), fits the width it is given, says when
# it scored the host itself because no agent answered, and never passes a cgroup name's control characters to
# the terminal; top draws the targets highest score first, refreshes, reverses a row that changed, and exits 0 on q.
. tests/integration/lib.sh

command -v tmux >/dev/null || skip "tmux not installed"
tmp=$(mktemp -d)
sock="rwtest.$$"
cleanup() {
	tmux -L "$sock" kill-server 2>/dev/null
	rw_cleanup
	rm -rf "$tmp"
}
trap cleanup EXIT INT TERM

busy=$(rw_mkcg busy)
idle=$(rw_mkcg idle)
esc=$(printf '\033')
evil=$(rw_mkcg "evil${esc}[2Jname")
rw_pids="$rw_pids $(rw_run_in "$busy" sh -c 'while :; do :; done') $(rw_run_in "$idle" sleep 600) $(rw_run_in "$evil" sleep 600)"
rw_start_agent "$tmp"
rel="/rwtest.$$"

# the agent's report holds all three of ours
i=0
until curl -sf "$url/verdicts" > "$tmp/v.json" && [ "$(grep -o "\"cgroup\":\"$rel/" "$tmp/v.json" | wc -l)" -ge 3 ]; do
	i=$((i + 1)); [ $i -lt 300 ] || fail "the agent did not report three targets within 60 s"; sleep 0.2
done

# 1. list --output json is the agent's own document: equal to /verdicts of the same interval
i=0
while :; do
	"$RW" list --web.listen-address="127.0.0.1:$port" --output json > "$tmp/l.json" 2> "$tmp/l.err" || { cat "$tmp/l.err"; fail "list --output json: exit $?"; }
	curl -sf "$url/verdicts" > "$tmp/v.json"
	python3 - "$tmp/l.json" "$tmp/v.json" <<'EOP' && break
import json, sys
l, v = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
assert l["source"] == "agent", l["source"]
sys.exit(0 if l["verdicts"] == v else 1)    # differs only if an interval passed in between
EOP
	i=$((i + 1)); [ $i -lt 20 ] || fail "list --output json never equalled the agent's /verdicts"
done
note "list --output json: the agent's /verdicts ($(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["verdicts"]["targets"]))' "$tmp/l.json") targets), source agent"

# 2. the table: first line names the agent, identity first, no line wider than COLUMNS, ESC shown as '?'
for cols in 200 80 50; do
	COLUMNS=$cols "$RW" list --web.listen-address="127.0.0.1:$port" > "$tmp/t$cols" 2> "$tmp/t.err" || { cat "$tmp/t.err"; fail "list: exit $?"; }
	head -1 "$tmp/t$cols" | grep -q "^# agent at 127.0.0.1:$port" || fail "list ($cols): first line $(head -1 "$tmp/t$cols")"
	sed -n 3p "$tmp/t$cols" | grep -q '^IDENTITY  *VERDICT  *SCORE' || fail "list ($cols): header $(sed -n 3p "$tmp/t$cols")"
	w=$(python3 -c 'import sys; print(max(len(l.rstrip("\n")) for l in open(sys.argv[1], encoding="utf-8")))' "$tmp/t$cols")
	[ "$w" -le "$cols" ] || fail "list: a line of $w columns with COLUMNS=$cols"
	grep -q "$esc" "$tmp/t$cols" && fail "list ($cols): a control character reached the output"
	grep -q '^cgroup:busy ' "$tmp/t$cols" || fail "list ($cols): no row for the busy cgroup"
done
grep -q "evil?\[2Jname  *[a-z]" "$tmp/t200" || fail "list: the ESC in a cgroup name is not shown as '?'"
grep -q " $rel/busy\$" "$tmp/t200" || fail "list (200 columns): no CGROUP column"
note "list: $(sed -n 1p "$tmp/t80")"
sed -n '3,6p' "$tmp/t80" | sed 's/^/    /'

# 3. no agent on the address: scored here, and said so
free=$(rw_free_port)
printf '[agent]\ninclude = %s/*\n' "$rel" > "$tmp/local.conf"
"$RW" list --config.file="$tmp/local.conf" --web.listen-address="127.0.0.1:$free" > "$tmp/local" 2> "$tmp/local.err" ||
	{ cat "$tmp/local.err"; fail "list without an agent: exit $?"; }
head -1 "$tmp/local" | grep -q "^# scored here (no agent on 127.0.0.1:$free: Connection refused)" ||
	fail "list without an agent: first line $(head -1 "$tmp/local")"
grep -q '^cgroup:busy ' "$tmp/local" || fail "list without an agent: no busy row"
note "no agent: $(head -1 "$tmp/local")"

# 4. top in tmux
tmux -L "$sock" -f /dev/null new-session -d -s top -x 120 -y 30 \
	"sh -c '\"\$0\" top --web.listen-address=127.0.0.1:$port; echo \$? > $tmp/top.rc' $RW" ||
	fail "tmux new-session"
pane() { tmux -L "$sock" capture-pane -p -t top 2>/dev/null; }
i=0
until pane > "$tmp/p1" && grep -q "^rigwatch top (q quits): agent at 127.0.0.1:$port" "$tmp/p1" && grep -q '^cgroup:busy ' "$tmp/p1"; do
	i=$((i + 1)); [ $i -lt 300 ] || { cat "$tmp/p1"; fail "top: no screen with the busy row within 60 s"; }
	sleep 0.2
done
grep -q '^IDENTITY  *VERDICT  *SCORE  *CORES' "$tmp/p1" || { cat "$tmp/p1"; fail "top: no column header"; }
# highest score first
python3 - "$tmp/p1" <<'EOP' || { cat "$tmp/p1"; fail "top: rows not sorted by score"; }
import re, sys
lines = open(sys.argv[1]).read().splitlines()
start = next(i for i, l in enumerate(lines) if l.startswith("IDENTITY"))
scores = [float(m.group(1)) for l in lines[start + 1:] if (m := re.match(r"^\S.*? (?:clean|suspect|mining|allowed) +([0-9.]+) ", l))]
assert len(scores) >= 3, scores
assert scores == sorted(scores, reverse=True), scores
EOP
# refreshing: the report time in the title moves
t1=$(head -1 "$tmp/p1" | grep -o '[0-9-]*T[0-9:]*Z')
i=0
until pane > "$tmp/p2" && t2=$(head -1 "$tmp/p2" | grep -o '[0-9-]*T[0-9:]*Z') && [ -n "$t2" ] && [ "$t2" != "$t1" ]; do
	i=$((i + 1)); [ $i -lt 300 ] || fail "top: the screen did not refresh within 60 s (still $t1)"
	sleep 0.2
done
# a new target while top runs: its row appears reversed (changed since the last refresh)
late=$(rw_mkcg late)
rw_pids="$rw_pids $(rw_run_in "$late" sleep 600)"
i=0
until tmux -L "$sock" capture-pane -e -p -t top > "$tmp/p3" 2>/dev/null && grep -q "$(printf '\033')\[7mcgroup:late " "$tmp/p3"; do
	i=$((i + 1)); [ $i -lt 300 ] || { cat -v "$tmp/p3" | head; fail "top: the new target's row was not shown reversed within 60 s"; }
	sleep 0.2
done
note "top: refreshed ($t1 -> $t2), sorted by score, new row reversed"
sed -n '1,6p' "$tmp/p2" | sed 's/^/    /'
# q quits, exit status 0
tmux -L "$sock" send-keys -t top q
i=0
until [ -s "$tmp/top.rc" ]; do
	i=$((i + 1)); [ $i -lt 150 ] || fail "top: still running 30 s after q"
	sleep 0.2
done
[ "$(cat "$tmp/top.rc")" = 0 ] || fail "top: exit $(cat "$tmp/top.rc") after q"
note "top: q quit it, exit 0"
exit 0
