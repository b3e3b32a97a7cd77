# deploy/kubernetes and deploy/prometheus/prometheus-kubernetes.yml agree with each other, checked on a real
# Prometheus where one can be:
#   - the DaemonSet's pod labels, container port name and number are what the PodMonitor, the ServiceMonitor (and
#     its Service), the NetworkPolicy and the scrape example select (python3 + PyYAML on the manifests);
#   - the scrape example's relabelling, run by a real Prometheus (Debian's) on a real agent: Debian builds Prometheus
#     without Kubernetes discovery, so the job's kubernetes_sd_configs is swapped for a file_sd file that gives
#     each target the __meta_kubernetes_* labels Kubernetes discovery would give the DaemonSet's pod (derived from
#     daemonset.yaml), a decoy pod of another app and another port of the agent's pod; Prometheus must scrape the
#     agent, as job="rigwatch" with instance = the node name, and drop both decoys.
. tests/integration/lib.sh

command -v python3 >/dev/null || skip "python3 not installed"
python3 -c 'import yaml' 2>/dev/null || skip "PyYAML not installed (python3-yaml)"
tmp=$(mktemp -d)
trap 'rw_cleanup; rm -rf "$tmp"' EXIT INT TERM
K="$RW_TOP/deploy/kubernetes"

python3 - "$K" "$RW_TOP/deploy/prometheus/prometheus-kubernetes.yml" > "$tmp/meta.env" <<'EOP' || fail "manifests disagree"
import sys, yaml
k, promfile = sys.argv[1], sys.argv[2]
docs = {}
for f in ("daemonset.yaml", "podmonitor.yaml", "servicemonitor.yaml", "networkpolicy.yaml"):
    for d in yaml.safe_load_all(open(f"{k}/{f}")):
        if d:
            docs[(d["kind"], f)] = d
ds = docs[("DaemonSet", "daemonset.yaml")]
ns = ds["metadata"]["namespace"]
pod_labels = ds["spec"]["template"]["metadata"]["labels"]
assert ds["spec"]["selector"]["matchLabels"].items() <= pod_labels.items(), "DaemonSet selector vs its pod labels"
c = ds["spec"]["template"]["spec"]["containers"][0]
ports = {p["name"]: p for p in c["ports"]}
assert "metrics" in ports, "the DaemonSet's container has no port named metrics"
port = ports["metrics"]["containerPort"]
assert "hostPort" not in ports["metrics"], "a hostPort: the scrape example assumes pod IPs"
cm = [x for x in yaml.safe_load_all(open(f"{k}/daemonset.yaml")) if x and x["kind"] == "ConfigMap"][0]
assert f'listen_address = ":{port}"' in cm["data"]["rigwatch.conf"], "the agent's listen_address is not the container port"
ann = ds["spec"]["template"]["metadata"].get("annotations", {})
assert str(ann.get("prometheus.io/port", port)) == str(port), "prometheus.io/port annotation"

def sel_ok(sel, what):
    assert sel["matchLabels"].items() <= pod_labels.items(), f"{what} selects {sel} but the pods carry {pod_labels}"

pm = docs[("PodMonitor", "podmonitor.yaml")]
sel_ok(pm["spec"]["selector"], "PodMonitor")
assert pm["spec"]["namespaceSelector"]["matchNames"] == [ns], "PodMonitor namespace"
for ep in pm["spec"]["podMetricsEndpoints"]:
    assert ep["port"] in ports, f"PodMonitor port {ep['port']} not a container port"
    assert {"targetLabel": "job", "replacement": "rigwatch"} in ep["relabelings"], "PodMonitor job label"
svc = docs[("Service", "servicemonitor.yaml")]
sm = docs[("ServiceMonitor", "servicemonitor.yaml")]
assert svc["metadata"]["namespace"] == ns and svc["spec"]["selector"].items() <= pod_labels.items(), "Service selector"
sports = {p["name"]: p for p in svc["spec"]["ports"]}
for p in sports.values():
    assert p["targetPort"] in ports or p["targetPort"] == port, f"Service targetPort {p['targetPort']}"
assert sm["spec"]["selector"]["matchLabels"].items() <= svc["metadata"]["labels"].items(), "ServiceMonitor selects the Service"
for ep in sm["spec"]["endpoints"]:
    assert ep["port"] in sports, f"ServiceMonitor port {ep['port']} not a Service port"
    assert {"targetLabel": "job", "replacement": "rigwatch"} in ep["relabelings"], "ServiceMonitor job label"
npol = docs[("NetworkPolicy", "networkpolicy.yaml")]
assert npol["spec"]["podSelector"]["matchLabels"].items() <= pod_labels.items(), "NetworkPolicy pod selector"
assert port in [p["port"] for r in npol["spec"]["ingress"] for p in r["ports"]], "NetworkPolicy port"
prom = yaml.safe_load(open(promfile))
job = [j for j in prom["scrape_configs"] if j["job_name"] == "rigwatch"][0]
assert job["kubernetes_sd_configs"][0]["role"] == "pod" and job["kubernetes_sd_configs"][0]["namespaces"]["names"] == [ns]
# what Kubernetes pod discovery gives this pod: its labels, sanitized, and the container port's name
san = lambda s: "".join(ch if ch.isalnum() else "_" for ch in s)
meta = {f"__meta_kubernetes_pod_label_{san(kk)}": v for kk, v in pod_labels.items()}
meta["__meta_kubernetes_pod_container_port_name"] = "metrics"
meta["__meta_kubernetes_pod_container_port_number"] = str(port)
meta["__meta_kubernetes_namespace"] = ns
print(repr(meta))
EOP
note "daemonset, podmonitor, servicemonitor, networkpolicy, prometheus-kubernetes.yml: selectors, ports, namespace agree"

command -v prometheus >/dev/null || skip "prometheus not installed: relabelling not run"
command -v curl >/dev/null || skip "curl not installed"
rw_start_agent "$tmp"
pport=$(rw_free_port)
python3 - "$RW_TOP/deploy/prometheus/prometheus-kubernetes.yml" "$tmp" "127.0.0.1:$port" "$(cat "$tmp/meta.env")" <<'EOP' || fail "building the file_sd variant"
import ast, json, sys, yaml
src, tmp, addr, meta = sys.argv[1], sys.argv[2], sys.argv[3], ast.literal_eval(sys.argv[4])
prom = yaml.safe_load(open(src))
prom["rule_files"] = []
prom["global"]["scrape_interval"] = "1s"
job = [j for j in prom["scrape_configs"] if j["job_name"] == "rigwatch"][0]
job["scrape_interval"], job["scrape_timeout"] = "1s", "1s"
del job["kubernetes_sd_configs"]
job["file_sd_configs"] = [{"files": [f"{tmp}/targets.json"]}]
decoy = dict(meta, __meta_kubernetes_pod_label_app_kubernetes_io_name="other-app", __meta_kubernetes_pod_node_name="node-b")
# another port of the same pod (a sidecar's): kept only by a rule that ignores the port name
sidecar = dict(meta, __meta_kubernetes_pod_container_port_name="debug", __meta_kubernetes_pod_node_name="node-a")
json.dump([{"targets": [addr], "labels": dict(meta, __meta_kubernetes_pod_node_name="node-a")},
           {"targets": ["127.0.0.1:9"], "labels": decoy}, {"targets": ["127.0.0.1:10"], "labels": sidecar}],
          open(f"{tmp}/targets.json", "w"))
yaml.safe_dump(prom, open(f"{tmp}/prom.yml", "w"))
EOP
prometheus --config.file="$tmp/prom.yml" --storage.tsdb.path="$tmp/prom-data" --web.listen-address="127.0.0.1:$pport" \
	> "$tmp/prometheus.log" 2>&1 &
rw_pids="$rw_pids $!"
rw_wait_http "http://127.0.0.1:$pport/-/ready" 120 || { tail -20 "$tmp/prometheus.log"; fail "prometheus not ready"; }
i=0
until curl -sf "http://127.0.0.1:$pport/api/v1/targets" > "$tmp/targets.out" && python3 - "$tmp/targets.out" <<'EOP'
import json, sys
t = json.load(open(sys.argv[1]))["data"]
act = [(x["labels"].get("job"), x["labels"].get("instance"), x["labels"].get("node"), x["health"]) for x in t["activeTargets"]]
dropped = len(t["droppedTargets"])
sys.exit(0 if act == [("rigwatch", "node-a", "node-a", "up")] and dropped == 2 else 1)
EOP
do
	i=$((i + 1)); [ $i -lt 120 ] || { cat "$tmp/targets.out"; fail "scrape example: want the agent up as job=rigwatch instance=node-a, both decoys dropped"; }
	sleep 0.5
done
note "prometheus-kubernetes.yml relabelling: the DaemonSet's pod scraped as job=rigwatch instance=node-a, both decoys dropped"
exit 0
