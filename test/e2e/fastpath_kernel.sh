#!/usr/bin/env bash
# Kernel pods (deviceType kernel: a TAP netdev in the pod) on the fast path's switch, with
# real peers: two kernel pods set up through kbnet-cni (static IPAM) ping each other and run
# iperf3 through the agent; a kernel pod and a dpdk-testpmd pod exchange exactly counted
# frames; ethtool -k shows the TAP's offloads; TSO frames cross whole between kernel pods
# (rxGsoPackets at the sender's port, nothing segmented) and are segmented in software for
# a pod without offloads; no device-info file for a kernel pod (while a virtio-user allocation
# has one); kernel pod -> DPDK pod (testpmd csum engine between two virtio-user ports) ->
# kernel pod with 64 KB frames crossing the DPDK pod whole; CHECK and DEL (also with the
# namespace gone) release everything;
# an agent restart (SIGTERM and kill -9) keeps the pods' interfaces and addresses, and
# traffic resumes.
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/lib_fp.bash"
fp_require
command -v iperf3 >/dev/null || kb_skip "iperf3 not installed (Debian iperf3)"
command -v ethtool >/dev/null || kb_skip "ethtool not installed"
command -v ping >/dev/null || kb_skip "ping not installed (Debian iputils-ping)"
[ -c /dev/net/tun ] || kb_skip "no /dev/net/tun"

MT=02:00:00:00:00:7e
fp_config "$T/agent.yaml" "" '  - name: vu
    type: virtio-user
    count: 4
  - name: kp
    type: kernel
    count: 8
  - name: kpoff
    type: kernel
    count: 2
    offloads: false'
kb_agent_start "$T/agent.yaml"
kb_cni_setup
kb_assert_eq "$(kb_ctl -o json status | jq -r .fastpath.state)" running "fast path running"

# conf FILE NET POOL ADDR [DEVINFO]: a kernel-pod netconf with static IPAM (and Multus'
# runtimeConfig.CNIDeviceInfoFile $T/devinfo/DEVINFO).
conf() {
	jq -n --arg sock "$KB_SOCK" --arg t "$T" --arg net "$2" --arg pool "$3" --arg a "$4" --arg di "${5:-}" '{
		cniVersion: "1.0.0", name: $net, type: "kbnet", agentSocket: $sock,
		cacheDir: ($t + "/cache"), deviceType: "kernel", resourceName: ("kbnet.io/" + $pool),
		ipam: {type: "static", addresses: [{address: $a}]}} +
		if $di == "" then {} else {runtimeConfig: {CNIDeviceInfoFile: ($t + "/devinfo/" + $di)}} end' >"$T/$1"
	echo "$T/$1"
}
# iperf_srv NETNS ADDR LOG: a one-test iperf3 server, killed at exit if no client came.
iperf_srv() {
	ip netns exec "$1" iperf3 -s -1 -B "$2" >"$T/$3.log" 2>&1 &
	kb_defer "kill -KILL $!"
}
link_rx() { ip -n "$1" -j -s link show net1 | jq '.[0].stats64.rx.packets'; }
port_cid() { fp_api ports | jq -c --arg c "$1" '[.ports[] | select(.containerID == $c)][0]'; }
pstat() { port_cid "$1" | jq -r "$2"; }

PA=$(fp_kernel_pod ka)
PB=$(fp_kernel_pod kb)
PC=$(fp_kernel_pod kc)
CA=$(conf a.json red kp 10.50.0.1/24 red-ka-net1.json)
CB=$(conf b.json red kp 10.50.0.2/24)

kb_log "CNI ADD: two kernel pods on network red"
kb_assert_rc 0 "ADD a" kb_cni ADD ka "/var/run/netns/$PA" net1 "$CA"
cp "$T/cni.out" "$T/add-a.json"
cp "$T/cni.err" "$T/add-a.err"
kb_assert_rc 0 "ADD b" kb_cni ADD kb "/var/run/netns/$PB" net1 "$CB"
cp "$T/cni.out" "$T/add-b.json"
kb_assert_jq "$T/add-a.json" '.interfaces[0] | "\(.name) \(has("socketPath"))"' "net1 false" \
	"result: the pod's netdev, no socket"
kb_assert_eq "$(ip -n "$PA" -j addr show net1 | jq -r '.[0].addr_info[] | select(.family == "inet") | .local')" \
	10.50.0.1 "IPAM address on net1 in pod a"
kb_log "device-info: none for a kernel pod (no spec type describes a netdev the pod's kernel drives)"
kb_assert_eq "$(ls "$T/devinfo" 2>/dev/null | wc -l)" 0 "no device-info file for a kernel pod (CNIDeviceInfoFile asked)"
kb_assert_eq "$(grep -c CNIDeviceInfoFile "$T/add-a.err" || true)" 0 "the device-info path was accepted (not confined away)"
kb_assert_eq "$(kb_ctl -o json allocations | jq -r '.[] | select(.containerID == "ka") | has("deviceInfo")')" false \
	"no deviceInfo in the kernel pod's allocation"
MA=$(ip -n "$PA" -j link show net1 | jq -r '.[0].address')
kb_assert_eq "$MA" "$(jq -r '.interfaces[0].mac' "$T/add-a.json")" "net1 has the allocation's MAC"
kb_assert_eq "$(pstat ka .kind)" tap "the agent switches a TAP port for pod a"
kb_assert_eq "$(pstat ka .offloadFeatures)" "csum,tso4,tso6" "offloads on by default"
kb_assert_eq "$(kb_ctl ports | awk '$1 == "ka/net1" {print $5, $6}')" "tap up" "agentctl ports shows the TAP port up"
kb_assert_eq "$(ip -n "$PA" -j link show net1 | jq -r '.[0].flags | index("LOWER_UP") != null')" true \
	"net1 is up with carrier (the agent holds its queues)"

kb_log "ethtool -k net1 in the pod shows the offloads"
ek=$(ip netns exec "$PA" ethtool -k net1)
for f in tx-checksumming tcp-segmentation-offload; do
	kb_assert_eq "$(echo "$ek" | awk -v f="$f:" '$1 == f {print $2}')" on "$f on"
done

kb_log "ping and iperf3 between the kernel pods"
kb_assert_rc 0 "a pings b" ip netns exec "$PA" ping -c 3 -W 2 -i 0.2 10.50.0.2
iperf_srv "$PB" 10.50.0.2 iperf-s
sleep 0.5
kb_assert_rc 0 "iperf3 a -> b" ip netns exec "$PA" iperf3 -c 10.50.0.2 -t 2 -J --logfile "$T/iperf-c.json"
gbps=$(jq '.end.sum_received.bits_per_second / 1e9' "$T/iperf-c.json")
kb_log "iperf3 a -> b: $gbps Gbit/s"
gso=$(pstat ka .stats.offloads.rxGsoPackets)
kb_assert_eq "$([ "$gso" -gt 0 ] && echo yes)" yes "TSO frames from a crossed whole (rxGsoPackets $gso)"
kb_assert_eq "$(pstat kb .stats.offloads.txGsoSoftware)" 0 "nothing segmented for b (it takes TSO)"
kb_log "a: $(port_cid ka | jq -c .stats)"

kb_log "a pod without offloads gets the TSO frames segmented"
PD=$(fp_kernel_pod kd)
kb_assert_rc 0 "ADD d (offloads off)" kb_cni ADD kd "/var/run/netns/$PD" net1 "$(conf d.json red kpoff 10.50.0.4/24)"
kb_assert_eq "$(ip netns exec "$PD" ethtool -k net1 | awk '$1 == "tcp-segmentation-offload:" {print $2}')" off \
	"pod d's net1 has no TSO"
iperf_srv "$PD" 10.50.0.4 iperf-s2
sleep 0.5
kb_assert_rc 0 "iperf3 a -> d" ip netns exec "$PA" iperf3 -c 10.50.0.4 -t 1 -J --logfile "$T/iperf-c2.json"
kb_assert_eq "$([ "$(pstat kd .stats.offloads.txGsoSoftware)" -gt 0 ] && echo yes)" yes \
	"GSO frames for d segmented in software ($(pstat kd .stats.offloads.txGsoSegments) segments)"
kb_assert_eq "$(pstat kd .stats.drops.oversize)" 0 "no oversize drop towards d"

kb_log "a kernel pod and a dpdk-testpmd pod exchange counted frames (network blue)"
CC=$(conf c.json blue kp 10.60.0.1/24)
kb_assert_rc 0 "ADD c" kb_cni ADD kc "/var/run/netns/$PC" net1 "$CC"
MC=$(ip -n "$PC" -j link show net1 | jq -r '.[0].address')
ST=$(fp_attach pt blue $MT)
fp_pod_start t "$ST" $MT
fp_wait_connected pt || kb_fail "testpmd pod connected"
kb_assert_eq "$(kb_ctl -o json allocations | jq -r '.[] | select(.containerID == "pt") | .deviceInfo.type')" vhost-user \
	"a virtio-user allocation on the same agent has its device-info (the kernel pod's absence is the type's)"
ip -n "$PC" neigh replace 10.60.0.9 lladdr $MT dev net1
ip netns exec "$PC" ping -c 5 -i 0.2 -W 1 10.60.0.9 >/dev/null 2>&1 || true
fp_settle
kb_assert_eq "$(fp_pod_rx t)" 5 "testpmd pod received the kernel pod's 5 pings"
kb_assert_eq "$(pstat kc .stats.rxPackets)" 5 "agent received 5 frames from the TAP"
rx0=$(link_rx "$PC")
fp_pod_send t "$MC" 10
fp_settle
kb_assert_eq "$(fp_pod_tx t)" 160 "testpmd pod sent 160 frames"
kb_assert_eq "$(pstat kc .stats.txPackets)" 160 "agent wrote 160 frames to the TAP"
kb_assert_eq "$(($(link_rx "$PC") - rx0))" 160 "net1 in the kernel pod received 160 frames"

kb_log "kernel pod -> DPDK pod with TSO: 64 KB frames cross whole, the DPDK pod segments them"
# The DPDK pod: testpmd's csum engine between its virtio-user port (LRO and TCP checksum
# offloads asked: GUEST_TSO/GUEST_CSUM) and a net_tap exception port in its namespace where
# iperf3 listens (net_tap TSO, MSS 1400: net_tap refuses headers + MSS over its MTU). The csum engine writes the port's own MAC as source
# and its peer's as destination: towards the kernel pod, towards eth1's own MAC.
PE=$(fp_kernel_pod ke)
CE=$(conf e.json green kp 10.70.0.1/24)
kb_assert_rc 0 "ADD e" kb_cni ADD ke "/var/run/netns/$PE" net1 "$CE"
PX=$(fp_kernel_pod kx)
ME=$(ip -n "$PE" -j link show net1 | jq -r '.[0].address')
MX=02:00:00:00:00:7c
SX=$(fp_api attach "{\"containerID\":\"px\",\"ifname\":\"net1\",\"network\":\"green\",\"deviceType\":\"virtio-user\",\"mac\":\"$MX\"}" |
	jq -r .allocation.vhostUser.socketPath)
mkfifo "$T/x.in"
ip netns exec "$PX" stdbuf -o0 -e0 dpdk-testpmd --lcores="0@$FP_POD_CPU,1@$FP_POD_CPU" $FP_POD_MEM \
	--file-prefix "$FP_PREFIX-x" --no-pci --vdev "net_virtio_user0,path=$SX,server=1,queues=1,mac=$MX" \
	--vdev "net_tap0,iface=eth1,mac=$MX" -- -i --no-mlockall --total-num-mbufs=8192 \
	--forward-mode=csum --eth-peer=0,"$ME" --eth-peer=1,$MX <"$T/x.in" >"$T/x.log" 2>&1 &
FP_POD_PID[x]=$!
exec {xfd}>"$T/x.in"
FP_POD_FD[x]=$xfd
kb_defer "fp_pod_stop x"
fp_pod_wait x 'testpmd> ' 20 || tail -20 "$T/x.log"
for cmd in "port stop all" "port config 0 rx_offload tcp_lro on" "port config 0 rx_offload tcp_cksum on" \
	"csum set ip hw 1" "csum set tcp hw 1" "tso set 1400 1" "port start all" "start"; do
	fp_pod_cmd x "$cmd"
done
# net_tap's stop waits for a (missing) secondary process's answer: seconds.
fp_pod_wait x "packet forwarding - ports=" 60 || kb_fail "DPDK pod forwarding"
fp_wait_connected px || kb_fail "DPDK pod connected"
ip -n "$PX" link set eth1 address $MX up
ip -n "$PX" addr add 10.70.0.2/24 dev eth1
kb_assert_rc 0 "kernel pod pings the DPDK pod's exception port" ip netns exec "$PE" ping -c 3 -W 2 -i 0.2 10.70.0.2
iperf_srv "$PX" 10.70.0.2 iperf-s3
sleep 0.5
kb_assert_rc 0 "iperf3 kernel pod -> DPDK pod" ip netns exec "$PE" iperf3 -c 10.70.0.2 -t 2 -J --logfile "$T/iperf-c3.json"
kb_log "kernel -> DPDK: $(jq '.end.sum_received.bits_per_second / 1e9' "$T/iperf-c3.json") Gbit/s; DPDK pod port: $(port_cid px | jq -c '[.offloadFeatures, .stats.offloads]')"
kb_assert_eq "$([ "$(pstat ke .stats.offloads.rxGsoPackets)" -gt 0 ] && echo yes)" yes "TSO frames from the kernel pod"
kb_assert_eq "$(pstat px .stats.offloads.txGsoSoftware)" 0 "none segmented by the switch for the DPDK pod (GUEST_TSO)"
avg=$(port_cid px | jq '.stats.txBytes / .stats.txPackets | floor')
kb_assert_eq "$([ "$avg" -gt 8000 ] && echo yes)" yes "frames to the DPDK pod average $avg bytes (whole TSO frames)"
fp_pod_stop x
kb_assert_rc 0 "DEL e" kb_cni DEL ke "/var/run/netns/$PE" net1 "$CE"
fp_api detach '{"containerID":"px","ifname":"net1"}' >/dev/null

kb_log "kernel pod -> DPDK pod -> kernel pod: 64 KB frames cross the DPDK pod whole"
# The DPDK pod forwards between two virtio-user ports, one on network left (with kernel pod g)
# and one on network right (with kernel pod h). testpmd's io engine cannot carry a TSO frame:
# virtio-user's receive turns the virtio-net header into RX flags (RX_LRO + tso_segsz), its
# transmit builds the header from TX flags alone (TX_TCP_SEG, TX_*_CKSUM: DPDK 22.11
# virtio_rx_offload / virtqueue_xmit_offload), so an io-forwarded 64 KB frame would leave with
# an empty header. The csum engine parses each frame and asks TSO (tso set) for those longer
# than the MSS: TCP checksum and TSO offloaded, the 20-byte IPv4 header checksum in software
# (virtio-user has no IPv4 checksum offload).
PG=$(fp_kernel_pod kg)
PH=$(fp_kernel_pod kh)
PY=$(fp_kernel_pod ky)
kb_assert_rc 0 "ADD g (network left)" kb_cni ADD kg "/var/run/netns/$PG" net1 "$(conf g.json left kp 10.80.0.1/24)"
kb_assert_rc 0 "ADD h (network right)" kb_cni ADD kh "/var/run/netns/$PH" net1 "$(conf h.json right kp 10.80.0.2/24)"
MG=$(ip -n "$PG" -j link show net1 | jq -r '.[0].address')
MH=$(ip -n "$PH" -j link show net1 | jq -r '.[0].address')
MY0=02:00:00:00:00:70
MY1=02:00:00:00:00:71
SY0=$(fp_api attach "{\"containerID\":\"py\",\"ifname\":\"net1\",\"network\":\"left\",\"deviceType\":\"virtio-user\",\"mac\":\"$MY0\"}" |
	jq -r .allocation.vhostUser.socketPath)
SY1=$(fp_api attach "{\"containerID\":\"py\",\"ifname\":\"net2\",\"network\":\"right\",\"deviceType\":\"virtio-user\",\"mac\":\"$MY1\"}" |
	jq -r .allocation.vhostUser.socketPath)
mkfifo "$T/y.in"
# shellcheck disable=SC2086
ip netns exec "$PY" stdbuf -o0 -e0 dpdk-testpmd --lcores="0@$FP_POD_CPU,1@$FP_POD_CPU" $FP_POD_MEM \
	--file-prefix "$FP_PREFIX-y" --no-pci --vdev "net_virtio_user0,path=$SY0,server=1,queues=1,mac=$MY0" \
	--vdev "net_virtio_user1,path=$SY1,server=1,queues=1,mac=$MY1" -- -i --no-mlockall --total-num-mbufs=8192 \
	--forward-mode=csum --eth-peer=0,"$MG" --eth-peer=1,"$MH" <"$T/y.in" >"$T/y.log" 2>&1 &
FP_POD_PID[y]=$!
exec {yfd}>"$T/y.in"
FP_POD_FD[y]=$yfd
kb_defer "fp_pod_stop y"
fp_pod_wait y 'testpmd> ' 20 || tail -20 "$T/y.log"
for cmd in "port stop all" "port config 0 rx_offload tcp_lro on" "port config 1 rx_offload tcp_lro on" \
	"port config 0 rx_offload tcp_cksum on" "port config 1 rx_offload tcp_cksum on" \
	"csum set ip sw 0" "csum set ip sw 1" "csum set tcp hw 0" "csum set tcp hw 1" \
	"tso set 1448 0" "tso set 1448 1" "port start all" "start"; do
	fp_pod_cmd y "$cmd"
done
fp_pod_wait y "packet forwarding - ports=" 30 || kb_fail "DPDK pod forwarding"
ystat() { fp_api ports | jq -rc --arg i "$1" "[.ports[] | select(.containerID == \"py\" and .ifname == \$i)][0] | $2"; }
for _ in $(seq 1 100); do
	[ "$(ystat net1 .connected)" = true ] && [ "$(ystat net2 .connected)" = true ] && break
	sleep 0.1
done
kb_assert_eq "$(ystat net1 .connected) $(ystat net2 .connected)" "true true" "DPDK pod connected on both networks"
kb_assert_eq "$(grep -c 'TSO segment size for non-tunneled packets is 1448' "$T/y.log" || true)" 2 \
	"testpmd took TSO on both virtio-user ports"
grep -i 'not supported\|error' "$T/y.log" | sed 's/^/# testpmd: /' || true
# Each kernel pod reaches the other's address through the DPDK pod's port on its network.
ip -n "$PG" neigh replace 10.80.0.2 lladdr $MY0 dev net1
ip -n "$PH" neigh replace 10.80.0.1 lladdr $MY1 dev net1
kb_assert_rc 0 "g pings h through the DPDK pod" ip netns exec "$PG" ping -c 3 -W 2 -i 0.2 10.80.0.2
g0=$(pstat kg .stats.offloads.rxGsoPackets)
y0=$(ystat net2 .stats.offloads.rxGsoPackets)
iperf_srv "$PH" 10.80.0.2 iperf-s4
sleep 0.5
kb_assert_rc 0 "iperf3 g -> DPDK pod -> h" ip netns exec "$PG" iperf3 -c 10.80.0.2 -t 2 -J --logfile "$T/iperf-c4.json"
g1=$(pstat kg .stats.offloads.rxGsoPackets)
y1=$(ystat net2 .stats.offloads.rxGsoPackets)
kb_log "g -> DPDK pod -> h: $(jq '.end.sum_received.bits_per_second / 1e9' "$T/iperf-c4.json") Gbit/s; GSO frames from g $((g1 - g0)), from the DPDK pod $((y1 - y0)); DPDK pod: $(ystat net1 '[.offloadFeatures, .stats.offloads]') $(ystat net2 '[.offloadFeatures, .stats.offloads]')"
kb_assert_eq "$([ $((g1 - g0)) -gt 0 ] && echo yes)" yes "TSO frames from g ($((g1 - g0)))"
kb_assert_eq "$(ystat net1 .stats.offloads.txGsoSoftware)" 0 "none segmented by the switch towards the DPDK pod"
kb_assert_eq "$([ $((y1 - y0)) -gt 0 ] && echo yes)" yes "TSO frames from the DPDK pod: they crossed it whole ($((y1 - y0)))"
kb_assert_eq "$(pstat kh .stats.offloads.txGsoSoftware)" 0 "none segmented by the switch towards h"
avg=$(port_cid kh | jq '.stats.txBytes / .stats.txPackets | floor')
kb_assert_eq "$([ "$avg" -gt 8000 ] && echo yes)" yes "frames to h average $avg bytes (whole TSO frames)"
fp_pod_stop y
fp_api detach '{"containerID":"py","ifname":"net1"}' >/dev/null
fp_api detach '{"containerID":"py","ifname":"net2"}' >/dev/null
kb_assert_rc 0 "DEL g" kb_cni DEL kg "/var/run/netns/$PG" net1 "$T/g.json"
kb_assert_rc 0 "DEL h" kb_cni DEL kh "/var/run/netns/$PH" net1 "$T/h.json"

kb_log "CHECK"
jq --slurpfile p "$T/add-a.json" '. + {prevResult: $p[0]}' "$CA" >"$T/check-a.json"
kb_assert_rc 0 "CHECK a" kb_cni CHECK ka "/var/run/netns/$PA" net1 "$T/check-a.json"

for sig in TERM KILL; do
	kb_log "agent restart ($sig): pods keep net1 and their addresses, traffic resumes"
	kb_agent_stop "$sig"
	kb_assert_eq "$(ip -n "$PA" -j addr show net1 | jq -r '.[0].addr_info[] | select(.family == "inet") | .local')" \
		10.50.0.1 "pod a keeps net1 and its address with the agent down"
	kb_agent_start "$T/agent.yaml"
	kb_assert_eq "$(pstat ka .kind)" tap "port of a back after the restart"
	kb_assert_rc 0 "a pings b after the restart" ip netns exec "$PA" ping -c 3 -W 2 -i 0.2 10.50.0.2
	kb_assert_rc 0 "CHECK a after the restart" kb_cni CHECK ka "/var/run/netns/$PA" net1 "$T/check-a.json"
done

kb_log "GC releases a kernel pod that is not in valid-attachments"
PF=$(fp_kernel_pod kf)
kb_assert_rc 0 "ADD f" kb_cni ADD kf "/var/run/netns/$PF" net1 "$(conf f.json red kp 10.50.0.6/24)"
jq '. + {cniVersion: "1.1.0", "cni.dev/valid-attachments": [{containerID: "ka", ifname: "net1"},
	{containerID: "kb", ifname: "net1"}, {containerID: "kd", ifname: "net1"}]}' "$T/f.json" >"$T/gc.json"
kb_assert_rc 0 "GC" kb_cni GC "" "" "" "$T/gc.json"
kb_assert_eq "$(ip -n "$PF" link show net1 >/dev/null 2>&1 && echo present || echo gone)" gone "GC: net1 gone from pod f"
kb_assert_eq "$(pstat kf .)" null "GC: port of f removed"
kb_assert_eq "$(pstat ka .kind)" tap "GC kept pod a's port"

kb_log "DEL, and DEL with the namespace gone"
fp_pod_stop t
kb_assert_rc 0 "DEL a" kb_cni DEL ka "/var/run/netns/$PA" net1 "$CA"
kb_assert_eq "$(ls "$T/devinfo" 2>/dev/null | wc -l)" 0 "DEL a: still no device-info file"
kb_assert_eq "$(ip -n "$PA" link show net1 >/dev/null 2>&1 && echo present || echo gone)" gone "net1 gone from pod a"
kb_assert_eq "$(pstat ka .)" null "port of a removed"
ip netns delete "$PB"
kb_assert_rc 0 "DEL b, netns gone" kb_cni DEL kb "/var/run/netns/$PB" net1 "$CB"
kb_assert_rc 0 "DEL b again, empty netns" kb_cni DEL kb "" net1 "$CB"
kb_assert_rc 0 "DEL c" kb_cni DEL kc "/var/run/netns/$PC" net1 "$CC"
kb_assert_rc 0 "DEL d" kb_cni DEL kd "/var/run/netns/$PD" net1 "$T/d.json"
kb_assert_eq "$(kb_ctl -o json allocations | jq '[.[] | select(.deviceType == "kernel")] | length')" 0 \
	"no kernel allocation left"
kb_assert_eq "$(ip -j link show | jq '[.[] | select(.ifname | startswith("kbk"))] | length')" 0 \
	"no TAP left in the agent's namespace"
fp_detach pt
fp_agent_finish
kb_done
