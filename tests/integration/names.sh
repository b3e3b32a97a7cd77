# Names people use, on real cgroups shaped as the kubelet (systemd driver, containerd) and Slurm (cgroup/v1 and
# cgroup/v2 plugin layouts) make them, in a private tree the agent walks as its cgroup root, with a kubelet log tree
# built as the kubelet builds /var/log/pods and /var/log/containers. Checks /verdicts, the metrics, an [allow] rule
# on a Kubernetes namespace, and a pod that appears while the agent runs.
. tests/integration/lib.sh

U=8f2c1a54-3b7e-4d1a-9c0e-2b6f4e8d1a37
U2=0d3e5f70-1a2b-4c3d-8e9f-a0b1c2d3e4f5
C1=1111111111111111111111111111111111111111111111111111111111111111
PAUSE=9999999999999999999999999999999999999999999999999999999999999999
C2=2222222222222222222222222222222222222222222222222222222222222222
uidu() { echo "$1" | tr - _; }
pod_slice() { echo "kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod$(uidu "$1").slice"; }

nobody=$(getent passwd 65534 | cut -d: -f1)
[ -n "$nobody" ] || skip "no passwd entry for uid 65534"

tmp=$(mktemp -d); chmod 755 "$tmp"
mkdir -p "$tmp/pods" "$tmp/containers"
# What the kubelet writes for a container: <ns>_<pod>_<uid>/<container>/0.log and the link to it.
kubelet_container() { # ns pod uid container id
	mkdir -p "$tmp/pods/$1_$2_$3/$4"
	: > "$tmp/pods/$1_$2_$3/$4/0.log"
	ln -s "$tmp/pods/$1_$2_$3/$4/0.log" "$tmp/containers/$2_$1_$4-$5.log"
}
kubelet_container crypto-lab bench-7d9c5b6f4-x2x9z "$U" hasher "$C1"
mkdir -p "$tmp/pods/crypto-lab_bench-7d9c5b6f4-x2x9z_$U"   # the sandbox (pause) container has no log

k1=$(rw_mkcg "$(pod_slice "$U")/cri-containerd-$C1.scope")
kp=$(rw_mkcg "$(pod_slice "$U")/cri-containerd-$PAUSE.scope")
s1=$(rw_mkcg slurm/uid_65534/job_4242/step_0)
s2=$(rw_mkcg system.slice/slurmstepd.scope/job_55/step_batch)
for cg in "$k1" "$kp" "$s1" "$s2"; do rw_pids="$rw_pids $(rw_run_in "$cg" sleep 600)"; done

port=$(rw_free_port)
url="http://127.0.0.1:$port"
cat > "$tmp/agent.conf" <<EOF
[agent]
cgroup_root = $RW_CG_PARENT
kube_containers_dir = $tmp/containers

[response]
kube_pods_dir = $tmp/pods

[allow]
identity = k8s-namespace:crypto-*
reason = "crypto research namespace (SEC-12)"
EOF
"$RW" run --config.file="$tmp/agent.conf" --web.listen-address="127.0.0.1:$port" > "$tmp/agent.log" 2>&1 &
agent_pid=$!
rw_pids="$rw_pids $agent_pid"
rw_wait_http "$url/healthz" 60 || { cat "$tmp/agent.log"; fail "rigwatch run: no /healthz on $port within 60 s"; }

# Poll /verdicts until the python check on it passes (at most 60 s); $1 names what is awaited.
await_verdicts() {
	what=$1; check=$2; i=0
	while [ $i -lt 120 ]; do
		curl -sf "$url/verdicts" > "$tmp/v.json" 2>/dev/null &&
			python3 -c "import json,sys
T={t['cgroup']: t for t in json.load(open('$tmp/v.json'))['targets']}
def I(c): return T[c]['identity'] if c in T else {}
$check" 2>/dev/null && return 0
		sleep 0.5; i=$((i + 1))
	done
	cat "$tmp/v.json"; tail -20 "$tmp/agent.log"
	fail "not seen in /verdicts within 60 s: $what"
}
rel() { echo "${1#"$RW_CG_PARENT"}"; }

await_verdicts "Kubernetes names and the allow rule of the hasher container" "
i=I('$(rel "$k1")')
assert i['k8s_namespace']=='crypto-lab' and i['k8s_pod']=='bench-7d9c5b6f4-x2x9z' and i['k8s_container']=='hasher'
assert i['pod_uid']=='$U' and i['id']=='$C1'
t=T['$(rel "$k1")']
assert t['allowed'] is True and t['allow_reason']=='crypto research namespace (SEC-12)'"
note "k8s container: crypto-lab/bench-7d9c5b6f4-x2x9z/hasher, allowed (crypto research namespace)"
await_verdicts "the sandbox container's pod names (no container name)" "
i=I('$(rel "$kp")')
assert i['k8s_namespace']=='crypto-lab' and i['k8s_pod']=='bench-7d9c5b6f4-x2x9z' and 'k8s_container' not in i"
await_verdicts "Slurm job, step, uid and user (cgroup/v1 layout)" "
i=I('$(rel "$s1")')
assert (i['slurm_job'],i['slurm_step'],i['slurm_uid'],i['slurm_user'])==('4242','0','65534','$nobody')
assert T['$(rel "$s1")']['allowed'] is False"
await_verdicts "Slurm job and step (cgroup/v2 layout)" "
i=I('$(rel "$s2")')
assert (i['slurm_job'],i['slurm_step'])==('55','batch') and 'slurm_user' not in i"
note "slurm: 4242 step 0 user $nobody (v1 path), 55 step batch (v2 path)"

# A pod that appears while the agent runs: cgroup first, then the kubelet's entries, as on a node.
k2=$(rw_mkcg "$(pod_slice "$U2")/cri-containerd-$C2.scope")
rw_pids="$rw_pids $(rw_run_in "$k2" sleep 600)"
sleep 2
kubelet_container team-a web-0 "$U2" nginx "$C2"
await_verdicts "names of a pod created after the agent started" "
i=I('$(rel "$k2")')
assert (i['k8s_namespace'],i['k8s_pod'],i['k8s_container'])==('team-a','web-0','nginx')
assert T['$(rel "$k2")']['allowed'] is False"
note "new pod team-a/web-0/nginx named once the kubelet's entries appeared"

# Metrics: the info metric for joins, Slurm fields as labels, the allowed target marked.
curl -sf "$url/metrics" > "$tmp/m.txt" || fail "GET /metrics"
grep -q "^rigwatch_target_kubernetes_info{cgroup=\"$(rel "$k1")\".*,namespace=\"crypto-lab\",pod=\"bench-7d9c5b6f4-x2x9z\",container=\"hasher\"} 1$" "$tmp/m.txt" ||
	{ grep kubernetes_info "$tmp/m.txt"; fail "no rigwatch_target_kubernetes_info for the hasher container"; }
grep -q "^rigwatch_target_score{cgroup=\"$(rel "$s1")\",runtime=\"slurm\",slurm_job=\"4242\",slurm_step=\"0\",slurm_user=\"$nobody\"" "$tmp/m.txt" ||
	{ grep 'rigwatch_target_score{.*slurm' "$tmp/m.txt"; fail "Slurm labels on rigwatch_target_score"; }
grep -q "^rigwatch_target_allowed{cgroup=\"$(rel "$k1")\"" "$tmp/m.txt" || fail "rigwatch_target_allowed for the hasher container"
# the namespace rule covers the pod's sandbox container too, and nothing else
grep -q "^rigwatch_target_allowed{cgroup=\"$(rel "$kp")\"" "$tmp/m.txt" || fail "rigwatch_target_allowed for the sandbox container"
[ "$(grep -c '^rigwatch_target_allowed{' "$tmp/m.txt")" = 2 ] || fail "rigwatch_target_allowed on other targets too"
if command -v promtool >/dev/null; then
	promtool check metrics < "$tmp/m.txt" > "$tmp/lint" 2>&1 || { cat "$tmp/lint"; fail "promtool check metrics"; }
fi
note "metrics: kubernetes_info, slurm_job/slurm_step/slurm_user labels, rigwatch_target_allowed"

kill "$agent_pid"; wait "$agent_pid" 2>/dev/null
rm -rf "$tmp"
echo "PASS names"
