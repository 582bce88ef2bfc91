#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Raw access to the kbnet agent API socket for robustness tests (test/integration/agent_*.sh).

Unlike the C client, this sends whatever bytes a test wants: malformed, oversized, truncated
or dribbled frames. As a module: connect(), frame(), send_req(), recv_reply(), closed().
As a command: kbwire.py SOCKET OP [JSON-ARGS] prints the whole reply (errors included) and
exits 0 on "ok": true, 1 on an error reply, 2 when the connection failed.
"""
import json
import os
import socket
import struct
import sys
import time

MAX_REQUEST = 1024 * 1024


def connect(path, timeout=5.0):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(timeout)
    s.connect(path)
    return s


def frame(obj):
    """One frame around a JSON value (dict/list/...) or raw bytes."""
    data = obj if isinstance(obj, (bytes, bytearray)) else json.dumps(obj).encode()
    return struct.pack(">I", len(data)) + data


def req(op, args=None, rid=1, version=1):
    r = {"version": version, "id": rid, "op": op}
    if args is not None:
        r["args"] = args
    return r


def send_req(s, op, args=None, rid=1):
    s.sendall(frame(req(op, args, rid)))


def _recv_exact(s, n, deadline):
    buf = b""
    while len(buf) < n:
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError("no complete reply in time")
        s.settimeout(left)
        try:
            chunk = s.recv(n - len(buf))
        except ConnectionResetError:
            chunk = b""
        if not chunk:
            return None
        buf += chunk
    return buf


def recv_reply(s, timeout=5.0):
    """The next reply as a dict; None when the agent closed the connection first."""
    deadline = time.monotonic() + timeout
    hdr = _recv_exact(s, 4, deadline)
    if hdr is None:
        return None
    (n,) = struct.unpack(">I", hdr)
    body = _recv_exact(s, n, deadline)
    if body is None:
        raise EOFError("connection closed in the middle of a reply")
    return json.loads(body)


def closed(s, timeout=5.0):
    """True when the agent closes the connection within timeout (pending replies are read
    and dropped); False when it is still open."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        s.settimeout(max(0.01, deadline - time.monotonic()))
        try:
            if not s.recv(65536):
                return True
        except socket.timeout:
            return False
        except ConnectionResetError:
            return True
    return False


def call(path, op, args=None, timeout=5.0):
    s = connect(path, timeout)
    try:
        send_req(s, op, args)
        return recv_reply(s, timeout)
    finally:
        s.close()


def error_code(reply):
    return (reply or {}).get("error", {}).get("code")


def main(argv):
    if len(argv) < 3:
        print("usage: kbwire.py SOCKET OP [JSON-ARGS]", file=sys.stderr)
        return 2
    try:
        rep = call(argv[1], argv[2], json.loads(argv[3]) if len(argv) > 3 else None)
    except OSError as e:
        print(json.dumps({"connectError": e.__class__.__name__, "errno": e.errno}))
        return 2
    print(json.dumps(rep))
    return 0 if rep and rep.get("ok") else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
