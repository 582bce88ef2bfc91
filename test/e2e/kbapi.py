#!/usr/bin/python3
# Minimal kbnet agent API client for the e2e suites (stands in for kbnet-cni until suites use
# it): kbapi.py SOCKET OP [JSON-ARGS]. Prints the reply's result; exit 1 on an error reply.
import json, socket, struct, sys

def call(path, op, args=None):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(path)
    req = {"version": 1, "id": 1, "op": op}
    if args is not None:
        req["args"] = args
    data = json.dumps(req).encode()
    s.sendall(struct.pack(">I", len(data)) + data)
    def recv(n):
        buf = b""
        while len(buf) < n:
            chunk = s.recv(n - len(buf))
            if not chunk:
                raise EOFError("agent closed the connection")
            buf += chunk
        return buf
    (n,) = struct.unpack(">I", recv(4))
    rep = json.loads(recv(n))
    s.close()
    return rep

if __name__ == "__main__":
    rep = call(sys.argv[1], sys.argv[2], json.loads(sys.argv[3]) if len(sys.argv) > 3 else None)
    if not rep.get("ok"):
        print(json.dumps(rep.get("error")), file=sys.stderr)
        sys.exit(1)
    print(json.dumps(rep.get("result")))
