#!/usr/bin/env bash
# A pod's sandbox re-created before the old sandbox's DEL (kubelet does this after a sandbox
# dies): both attachments have the same vhost-user socket path (<runDir>/pods/<pod UID>/net1.sock).
# The new attachment takes the path and the fast-path port over; the old one's late DEL
# removes neither; if the new one goes first, the old one gets its port back.
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/lib_fp.bash"
fp_require

MAC=02:00:00:00:02:0a UID_=5a1d0b0e-0000-4000-8000-000000000001
fp_config "$T/agent.yaml"
kb_agent_start "$T/agent.yaml"
att() { # CID: attach net1 of the pod; prints the socket path
	fp_api attach "{\"containerID\":\"$1\",\"ifname\":\"net1\",\"network\":\"red\",
		\"deviceType\":\"virtio-user\",\"mac\":\"$MAC\",\"pod\":{\"namespace\":\"default\",
		\"name\":\"web-0\",\"uid\":\"$UID_\"}}" | jq -r '.allocation.vhostUser.socketPath // .error.code'
}
owners() { fp_api ports | jq -r '[.ports[] | select(.kind != "uplink") | .containerID] | join(",")'; }

S1=$(att oldsandbox)
kb_assert_eq "$S1" "$KB_RUN/pods/$UID_/net1.sock" "old sandbox: the pod's socket path"
kb_assert_eq "$(owners)" oldsandbox "old sandbox has the port"
S2=$(att newsandbox)
kb_assert_eq "$S2" "$S1" "new sandbox: the same path"
kb_assert_eq "$(owners)" newsandbox "the new sandbox took the port over"
kb_assert_eq "$(kb_ctl -o json allocations | jq length)" 2 "both attachments recorded"

# The pod (new sandbox) comes up on the path and passes traffic through its port.
fp_pod_start a "$S2" $MAC
fp_wait_connected newsandbox && kb_pass "the pod connects to the new port" || kb_fail "not connected"
fp_pod_send a ff:ff:ff:ff:ff:ff 2
fp_settle
kb_assert_eq "$(fp_port_stat newsandbox .stats.rxPackets)" 32 "its frames reach the switch"

# An agent restart (kill -9) re-creates one port for the path: the newest sandbox's.
kb_agent_stop KILL
kb_agent_start "$T/agent.yaml"
kb_assert_eq "$(owners)" newsandbox "after kill -9: the port is the new sandbox's again"
fp_wait_connected newsandbox && kb_pass "the pod reconnects" || kb_fail "not reconnected"

# The old sandbox's late DEL: its allocation goes, the new port and the socket stay.
fp_detach oldsandbox
kb_assert_eq "$(owners)" newsandbox "late DEL of the old sandbox leaves the new port"
kb_assert_eq "$([ -S "$S2" ] && echo yes)" yes "and the pod's socket"
kb_assert_eq "$(fp_port_stat newsandbox .connected)" true "still connected"
fp_pod_stop a

# Other order: the new sandbox goes first, the old one gets its port back.
att old2 >/dev/null
kb_assert_eq "$(owners)" old2 "a newer sandbox takes it again"
fp_detach old2
kb_assert_eq "$(owners)" newsandbox "DEL of the newest: the path and a port go back to the older"
fp_detach newsandbox
kb_assert_eq "$(owners)" "" "last DEL: no port left"
kb_assert_eq "$([ -e "$KB_RUN/pods/$UID_" ] && echo left || echo gone)" gone "pod directory removed"
fp_agent_finish
kb_done
