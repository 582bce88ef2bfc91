#!/usr/bin/env bash
# A pod plants a symlink where the agent (vhost-user client, the default mode) connects: the
# agent's rte_vhost must never reach the socket the symlink points to, neither at attach nor
# in its reconnect loop, and must connect once the pod's own socket is there (connect() is
# confined by agent/podsock.c, through /proc/self/fd of the checked inode).
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/lib_fp.bash"
fp_require

fp_config "$T/agent.yaml"
kb_agent_start "$T/agent.yaml"
# The socket the pod would like the root agent to talk to (e.g. another daemon's).
python3 -c '
import socket, sys
s = socket.socket(socket.AF_UNIX); s.bind(sys.argv[1]); s.listen(8)
while True:
    c, _ = s.accept(); open(sys.argv[2], "a").write("connected\n"); c.close()
' "$T/evil.sock" "$T/evil.log" &
evil=$!
kb_defer "kill $evil"
for _ in $(seq 100); do [ -S "$T/evil.sock" ] && break; sleep 0.05; done

MA=02:00:00:00:00:1a
SA=$(fp_attach pa red $MA)
kb_assert_eq "$(dirname "$SA")" "$KB_RUN/pods/pa" "socket in the pod's directory"
ln -s "$T/evil.sock" "$SA"
# rte_vhost retries every second: give it several tries at the symlink.
sleep 4
kb_assert_eq "$(cat "$T/evil.log" 2>/dev/null | wc -l)" 0 "the planted symlink was never followed"
kb_assert_eq "$(fp_port_stat pa .connected)" false "port not connected through the symlink"
kb_assert_eq "$(readlink "$SA")" "$T/evil.sock" "the symlink is left as the pod made it"

# A symlinked directory in place of the pod's directory content does not help either.
mkdir -p "$T/elsewhere"
rm "$SA"
SB=$(fp_attach pb red 02:00:00:00:00:1b)
rmdir "$(dirname "$SB")" 2>/dev/null && ln -s "$T" "$(dirname "$SB")"
ln -sf "$T/evil.sock" "$T/$(basename "$SB")" 2>/dev/null || true
sleep 3
kb_assert_eq "$(cat "$T/evil.log" 2>/dev/null | wc -l)" 0 "a symlinked directory was never followed"
rm -f "$(dirname "$SB")"
fp_detach pb

# The pod's real server socket: the agent connects.
fp_pod_start a "$SA" $MA
if fp_wait_connected pa 20; then kb_pass "agent connected to the pod's own socket"; else kb_fail "not connected"; fi
kb_assert_eq "$(cat "$T/evil.log" 2>/dev/null | wc -l)" 0 "still nothing reached the planted socket"
fp_pod_stop a
fp_detach pa
fp_agent_finish
kb_done
