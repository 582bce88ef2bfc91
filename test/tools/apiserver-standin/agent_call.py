#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""One request to kbnet-agent's API (node-agent/api/README.md framing: 4-byte big-endian length,
then a JSON object), for the integration suites that need operations agentctl does not offer
(attach, detach). Not a stand-in: it speaks to the real agent.

usage: agent_call.py SOCKET OP [ARGS_JSON]
Prints the reply; exits 0 when it is ok, 1 on an error reply, 2 on a transport failure.
"""
import json
import socket
import struct
import sys


def call(path, op, args=None, timeout=10.0):
    req = {"version": 1, "id": 1, "op": op}
    if args is not None:
        req["args"] = args
    data = json.dumps(req).encode()
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(timeout)
        s.connect(path)
        s.sendall(struct.pack(">I", len(data)) + data)
        hdr = b""
        while len(hdr) < 4:
            chunk = s.recv(4 - len(hdr))
            if not chunk:
                raise ConnectionError("agent closed the connection")
            hdr += chunk
        (n,) = struct.unpack(">I", hdr)
        body = b""
        while len(body) < n:
            chunk = s.recv(n - len(body))
            if not chunk:
                raise ConnectionError("agent closed the connection mid-reply")
            body += chunk
    return json.loads(body)


def main():
    if len(sys.argv) not in (3, 4):
        print(__doc__, file=sys.stderr)
        return 2
    args = json.loads(sys.argv[3]) if len(sys.argv) == 4 else None
    try:
        rep = call(sys.argv[1], sys.argv[2], args)
    except (OSError, ValueError) as e:
        print("agent_call: %s" % e, file=sys.stderr)
        return 2
    print(json.dumps(rep))
    return 0 if rep.get("ok") else 1


if __name__ == "__main__":
    sys.exit(main())
