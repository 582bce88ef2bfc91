# shellcheck shell=bash
# Helpers for the suites that run kbnet-agent against the kube-apiserver stand-in
# (apiserver_standin.py). Source after test/lib.sh.
STANDIN_DIR=$ROOT/test/tools/apiserver-standin
STANDIN_PY=/usr/bin/python3

# standin_certs DIR: a CA and a server certificate for 127.0.0.1 signed by it.
standin_certs() {
	local d=$1
	mkdir -p "$d"
	openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=standin-ca \
		-keyout "$d/ca.key" -out "$d/ca.crt" 2>/dev/null
	openssl req -newkey rsa:2048 -nodes -subj /CN=kube-apiserver \
		-keyout "$d/server.key" -out "$d/server.csr" 2>/dev/null
	printf 'subjectAltName=IP:127.0.0.1\n' >"$d/san.ext"
	openssl x509 -req -in "$d/server.csr" -CA "$d/ca.crt" -CAkey "$d/ca.key" \
		-CAcreateserial -days 2 -extfile "$d/san.ext" -out "$d/server.crt" 2>/dev/null
}

# standin_start ARGS...: start the stand-in (TLS with $T/pki), wait until it listens.
# Sets STANDIN_PORT (API, https) and STANDIN_CTL (control, http), both on 127.0.0.1.
STANDIN_PID=
standin_start() {
	rm -f "$T/standin.json"
	"$STANDIN_PY" "$STANDIN_DIR/apiserver_standin.py" --ready-file "$T/standin.json" \
		--tls-cert "$T/pki/server.crt" --tls-key "$T/pki/server.key" "$@" \
		>>"$T/standin.log" 2>&1 &
	STANDIN_PID=$!
	kb_defer "kill $STANDIN_PID; wait $STANDIN_PID"
	for _ in $(seq 100); do
		[ -f "$T/standin.json" ] && break
		kill -0 "$STANDIN_PID" 2>/dev/null || { cat "$T/standin.log"; return 1; }
		sleep 0.05
	done
	# shellcheck disable=SC2034 # used by the suites that source this file
	STANDIN_PORT=$(jq -r .port "$T/standin.json")
	STANDIN_CTL=$(jq -r .controlPort "$T/standin.json")
}

# sctl METHOD PATH [JSON]: a control request; prints the answer.
sctl() {
	curl -sS --max-time 10 -X "$1" -H 'Content-Type: application/json' \
		${3:+--data "$3"} "http://127.0.0.1:$STANDIN_CTL$2"
}
# spod NS NAME NODE [UID]: create a pod; prints its UID.
spod() {
	sctl POST /pods "{\"namespace\":\"$1\",\"name\":\"$2\",\"node\":\"$3\"${4:+,\"uid\":\"$4\"}}" |
		jq -r .metadata.uid
}

# kstat JQ: evaluate JQ on the agent's status.kubernetes.
kstat() { kb_ctl -o json status | jq -r ".kubernetes | $1"; }
# kwait JQ [SECONDS]: wait until JQ on status.kubernetes is true.
kwait() {
	local expr=$1 deadline=$((SECONDS + ${2:-10}))
	while [ $SECONDS -lt $deadline ]; do
		[ "$(kstat "$expr" 2>/dev/null)" = true ] && return 0
		sleep 0.1
	done
	echo "# timed out waiting for: $expr ($(kb_ctl -o json status | jq -c .kubernetes))"
	return 1
}
# sreq JQ: jq over the stand-in's request log.
sreq() { sctl GET /requests | jq -r "$1"; }

# agent_call OP JSON: one request to the agent's API (attach/detach are not in agentctl).
agent_call() { "$STANDIN_PY" "$STANDIN_DIR/agent_call.py" "$KB_SOCK" "$@"; }
