#!/usr/bin/env bash
# bench_cni: CNI ADD and DEL latency, p50 and p99, of kbnet-cni + host-local against the
# reference bridge + host-local and macvlan + host-local, measured in the same run (calls
# interleaved), with host-local alone and a bare exec for scale. Goal: kbnet ADD p50 at most
# 0.5x bridge's; with agent IPAM (ipam type kbnet: no IPAM exec, device and address in one
# commit) at most 0.2x bridge + host-local's, with the breakdown printed when missed. Everything runs in network namespaces created here: the plugins run in a
# "host" namespace (bridge and macvlan create their links there; macvlan's master is a veth
# end in it), pods are namespaces of their own. The agent's runDir is a tmpfs, as /run is on
# a node.
source "$(dirname "$0")/../lib.sh"
kb_require_root
RUNS=${KB_BENCH_RUNS:-200}
ROUNDS=${KB_BENCH_ROUNDS:-5}
[ -x "$BIN/kbnet-cni" ] || kb_skip "kbnet-cni is not built"
for p in bridge macvlan host-local; do
	[ -x /usr/lib/cni/$p ] || kb_skip "needs /usr/lib/cni/$p (containernetworking-plugins)"
done
make -s -C "$ROOT" BUILD="$BUILD" "$BUILD/tools/cnibench" >&2 || exit 1

mkdir -p "$KB_RUN"
mount -t tmpfs kbbench "$KB_RUN"
kb_defer "umount -l $KB_RUN"
kb_agent_config "$T/agent.yaml" '  - name: vu
    type: virtio-user
    count: 64
    devicePlugin: false'
sed -i 's/^logLevel: debug/logLevel: info/' "$T/agent.yaml"
kb_agent_start "$T/agent.yaml" >&2
kb_cni_setup

host=$(kb_netns host)
ip -n "$host" link add mv0 type veth peer name mv0p
ip -n "$host" link set mv0 up
ip -n "$host" link set mv0p up
declare -A NS
for c in kbnet kbipam kbnet0 bridge macvlan hostlocal true; do
	NS[$c]=/run/netns/$(kb_netns "pod-$c")
done

# conf NAME JSON: a netconf file; every IPAM store under $T.
conf() { echo "$2" | jq --arg t "$T" '.cniVersion = "1.0.0" | .name = "bench-'"$1"'" |
	if .ipam then .ipam.dataDir = ($t + "/ipam") else . end' >"$T/$1.json"; }
conf kbnet '{"type":"kbnet","agentSocket":"'"$KB_SOCK"'","cacheDir":"'"$T/cache"'",
	"ipam":{"type":"host-local","subnet":"10.90.0.0/16"}}'
# Agent IPAM: the agent allocates the address with the device, nothing exec'd.
conf kbipam '{"type":"kbnet","agentSocket":"'"$KB_SOCK"'","cacheDir":"'"$T/cache"'",
	"ipam":{"type":"kbnet","subnet":"10.94.0.0/16"}}'
# The same without IPAM: what kbnet-cni and the agent cost by themselves.
conf kbnet0 '{"type":"kbnet","agentSocket":"'"$KB_SOCK"'","cacheDir":"'"$T/cache"'"}'
conf bridge '{"type":"bridge","bridge":"kbb0","isGateway":false,"ipMasq":false,
	"ipam":{"type":"host-local","subnet":"10.91.0.0/16"}}'
conf macvlan '{"type":"macvlan","master":"mv0","mode":"bridge",
	"ipam":{"type":"host-local","subnet":"10.92.0.0/16"}}'
# host-local run as the plugin itself: the IPAM part every case above pays.
conf hostlocal '{"type":"host-local","ipam":{"type":"host-local","subnet":"10.93.0.0/16"}}'
echo '{}' >"$T/true.json"

ip netns exec "$host" "$TOOLS/cnibench" --runs "$RUNS" --rounds "$ROUNDS" \
	--cni-path "$KB_CNI_PATH" \
	--case "kbnet|$KB_CNI_BIN/kbnet|$T/kbnet.json|${NS[kbnet]}" \
	--case "kbipam|$KB_CNI_BIN/kbnet|$T/kbipam.json|${NS[kbipam]}" \
	--case "kbnet0|$KB_CNI_BIN/kbnet|$T/kbnet0.json|${NS[kbnet0]}" \
	--case "bridge|/usr/lib/cni/bridge|$T/bridge.json|${NS[bridge]}" \
	--case "macvlan|/usr/lib/cni/macvlan|$T/macvlan.json|${NS[macvlan]}" \
	--case "hostlocal|/usr/lib/cni/host-local|$T/hostlocal.json|${NS[hostlocal]}" \
	--case "true|/bin/true|$T/true.json|${NS[true]}" >"$T/rounds.jsonl" || exit 1
# Nothing may be left behind by the runs (they would bias later ones).
leftover=$(kb_ctl -o json allocations | jq length)

# Median over rounds of each round's p50/p99.
jq -s -r --argjson runs "$RUNS" --argjson rounds "$ROUNDS" --arg leftover "$leftover" '
	def med: sort | .[(length - 1) / 2 | floor];
	def f: . * 10 | round / 10 | tostring | if test("\\.") then . else . + ".0" end;
	def pad(n): tostring | (" " * (n - length)) + .;
	def lpad(n): tostring | . + (" " * (n - length));
	group_by(.case) | map({key: .[0].case, value: {
		add50: map(.add_p50_ms) | med, add99: map(.add_p99_ms) | med,
		del50: map(.del_p50_ms) | med, del99: map(.del_p99_ms) | med}}) | from_entries as $m |
	def row(name; k): (name | lpad(26)) + ($m[k].add50 | f | pad(9)) + ($m[k].add99 | f | pad(9))
		+ ($m[k].del50 | f | pad(9)) + ($m[k].del99 | f | pad(9));
	def ratio(name; a; b): (name | lpad(26))
		+ (($m[a].add50 / $m[b].add50) * 100 | round / 100 | pad(9))
		+ (($m[a].add99 / $m[b].add99) * 100 | round / 100 | pad(9))
		+ (($m[a].del50 / $m[b].del50) * 100 | round / 100 | pad(9))
		+ (($m[a].del99 / $m[b].del99) * 100 | round / 100 | pad(9));
	"CNI ADD/DEL latency in ms: \($rounds) rounds x \($runs) runs, calls interleaved;",
	"median over rounds of each round'"'"'s p50 / p99",
	"",
	("case" | lpad(26)) + ("ADD p50" | pad(9)) + ("ADD p99" | pad(9)) + ("DEL p50" | pad(9)) + ("DEL p99" | pad(9)),
	row("kbnet-cni + host-local"; "kbnet"),
	row("kbnet-cni, agent IPAM"; "kbipam"),
	row("bridge + host-local"; "bridge"),
	row("macvlan + host-local"; "macvlan"),
	row("kbnet-cni, no IPAM"; "kbnet0"),
	row("host-local alone"; "hostlocal"),
	row("exec /bin/true"; "true"),
	ratio("ratio kbnet / bridge"; "kbnet"; "bridge"),
	ratio("ratio kbnet / macvlan"; "kbnet"; "macvlan"),
	ratio("ratio agent IPAM / bridge"; "kbipam"; "bridge"),
	"",
	"goal: kbnet ADD p50 <= 0.5 x bridge: \(($m.kbnet.add50 / $m.bridge.add50) * 100 | round / 100)x, " +
		(if $m.kbnet.add50 <= 0.5 * $m.bridge.add50 then "met" else "NOT met" end),
	"goal: kbnet agent IPAM ADD p50 <= 0.2 x bridge + host-local: \(($m.kbipam.add50 / $m.bridge.add50) * 100 | round / 100)x, " +
		(if $m.kbipam.add50 <= 0.2 * $m.bridge.add50 then "met" else "NOT met; breakdown of its ADD p50: exec \($m.true.add50 | f) ms, " +
			"plugin + agent round trip + commit \(($m.kbnet0.add50 - $m.true.add50) | f) ms, agent IPAM \(($m.kbipam.add50 - $m.kbnet0.add50) | f) ms" end),
	"kbnet ADD p50 above host-local alone: \(($m.kbnet.add50 - $m.hostlocal.add50) | f) ms; kbnet-cni with" +
		" its agent call and no IPAM: \($m.kbnet0.add50 | f) ms (a bare exec: \($m.true.add50 | f) ms)",
	"allocations left in the agent after the runs: \($leftover)"
' "$T/rounds.jsonl"
kb_agent_stop >&2
