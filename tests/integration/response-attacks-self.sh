# Auto-kill as an attacker sees it, the agent's side (issue 12): phases C, D and E of response-attacks.sh (the agent
# beside a miner in and out of a cgroup namespace; dry-run has no side effects; exit 2 outside the walked tree).
RW_ATTACK_PHASES="C D E"
. tests/integration/response-attacks.sh
