#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""dpclient: a device-plugin client on python3-grpcio, for kbnet's tests.

A second, independent gRPC implementation (gRPC core in C++, where kubelet-standin uses grpc-go)
talking to kbnet's device-plugin sockets. Messages come from node-agent/proto, generated with
protoc --python_out at build time into $TOOLS/py. Every command prints JSON on stdout.

  dpclient.py options SOCK                     GetDevicePluginOptions
  dpclient.py watch SOCK [--timeout S]         ListAndWatch: one JSON line per message
  dpclient.py allocate SOCK ID [ID...]         Allocate, one container
  dpclient.py preferred SOCK SIZE AVAIL [--must IDS]
  dpclient.py errors SOCK                      unknown method, bad protobuf, empty request:
                                               the gRPC status codes the plugin answers
  dpclient.py raw SOCK                         malformed HTTP/2 (bad preface, DATA on stream 0,
                                               broken HPACK): what comes back before close
  dpclient.py stress SOCK --streams N --allocs N [--channels N]
                                               N concurrent ListAndWatch streams, then N
                                               Allocate calls from 8 threads
  dpclient.py agent SOCK OP [JSON-ARGS]        one kbnet agent API call (framed JSON)
"""
import argparse
import concurrent.futures
import json
import os
import socket
import struct
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.environ.get("TOOLS", os.path.dirname(__file__)), "py"))

import grpc  # noqa: E402

import deviceplugin_v1beta1_pb2 as pb  # noqa: E402

SVC = "/v1beta1.DevicePlugin/"


def channel(sock):
    # A unix: target as grpcio spells it; :authority is "localhost" here, grpc-go's differs.
    return grpc.insecure_channel("unix:" + sock)


def unary(ch, method, req_cls, resp_cls):
    return ch.unary_unary(SVC + method, request_serializer=req_cls.SerializeToString,
                          response_deserializer=resp_cls.FromString)


def devices_json(resp):
    out = []
    for d in resp.devices:
        out.append({"id": d.ID, "health": d.health,
                    "numa": [n.ID for n in d.topology.nodes] if d.HasField("topology") else []})
    return out


def alloc_json(resp):
    out = []
    for c in resp.container_responses:
        out.append({"envs": dict(c.envs), "annotations": dict(c.annotations),
                    "mounts": [{"containerPath": m.container_path, "hostPath": m.host_path,
                                "readOnly": m.read_only} for m in c.mounts],
                    "devices": [{"containerPath": d.container_path, "hostPath": d.host_path,
                                 "permissions": d.permissions} for d in c.devices]})
    return out


def status_of(err):
    return {"code": err.code().value[0], "name": err.code().name, "message": err.details()}


def cmd_options(a):
    with channel(a.sock) as ch:
        r = unary(ch, "GetDevicePluginOptions", pb.Empty, pb.DevicePluginOptions)(pb.Empty(), timeout=10)
        print(json.dumps({"preStartRequired": r.pre_start_required,
                          "getPreferredAllocationAvailable": r.get_preferred_allocation_available}))


def cmd_watch(a):
    with channel(a.sock) as ch:
        call = ch.unary_stream(SVC + "ListAndWatch", request_serializer=pb.Empty.SerializeToString,
                               response_deserializer=pb.ListAndWatchResponse.FromString)
        stream = call(pb.Empty(), timeout=a.timeout)
        try:
            for resp in stream:
                print(json.dumps({"t": time.time(), "devices": devices_json(resp)}), flush=True)
        except grpc.RpcError as e:
            if e.code() != grpc.StatusCode.DEADLINE_EXCEEDED:
                print(json.dumps({"error": status_of(e)}), flush=True)
                sys.exit(1)


def cmd_allocate(a):
    with channel(a.sock) as ch:
        req = pb.AllocateRequest(container_requests=[pb.ContainerAllocateRequest(devices_ids=a.ids)])
        try:
            r = unary(ch, "Allocate", pb.AllocateRequest, pb.AllocateResponse)(req, timeout=10)
        except grpc.RpcError as e:
            print(json.dumps({"error": status_of(e)}))
            sys.exit(1)
        print(json.dumps({"containers": alloc_json(r)}))


def cmd_preferred(a):
    with channel(a.sock) as ch:
        req = pb.PreferredAllocationRequest(container_requests=[pb.ContainerPreferredAllocationRequest(
            available_deviceIDs=a.available.split(","),
            must_include_deviceIDs=[x for x in a.must.split(",") if x], allocation_size=a.size)])
        r = unary(ch, "GetPreferredAllocation", pb.PreferredAllocationRequest,
                  pb.PreferredAllocationResponse)(req, timeout=10)
        print(json.dumps({"deviceIDs": list(r.container_responses[0].deviceIDs)}))


def raw_call(ch, method, payload):
    """A unary call whose request bytes are ours, not a serialized message."""
    call = ch.unary_unary(method, request_serializer=lambda b: b, response_deserializer=lambda b: b)
    try:
        call(payload, timeout=10)
        return {"code": 0, "name": "OK"}
    except grpc.RpcError as e:
        return status_of(e)


def cmd_errors(a):
    out = {}
    with channel(a.sock) as ch:
        out["unknownMethod"] = raw_call(ch, SVC + "Frobnicate", b"")
        out["unknownService"] = raw_call(ch, "/v1beta1.Nope/Allocate", b"")
        # Field 1 as a length-delimited string claiming 100 bytes that are not there.
        out["badProtobuf"] = raw_call(ch, SVC + "Allocate", b"\x0a\x64\x0a\x02")
        # A wire type that does not exist (7).
        out["badWireType"] = raw_call(ch, SVC + "Allocate", b"\x0f\x01")
        out["emptyAllocate"] = raw_call(ch, SVC + "Allocate", b"")
        out["unknownDevice"] = raw_call(ch, SVC + "Allocate", pb.AllocateRequest(
            container_requests=[pb.ContainerAllocateRequest(devices_ids=["no-such-device"])]).SerializeToString())
        # Still serving after all that:
        out["options"] = raw_call(ch, SVC + "GetDevicePluginOptions", b"")
    print(json.dumps(out))


def read_frames(s, deadline=5.0):
    """HTTP/2 frames (type, flags, stream, payload) until the peer closes or the deadline."""
    s.settimeout(deadline)
    buf, frames = b"", []
    try:
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            buf += chunk
    except (socket.timeout, ConnectionResetError):
        pass
    while len(buf) >= 9:
        ln = int.from_bytes(buf[0:3], "big")
        ftype, flags = buf[3], buf[4]
        sid = int.from_bytes(buf[5:9], "big") & 0x7fffffff
        frames.append((ftype, flags, sid, buf[9:9 + ln]))
        buf = buf[9 + ln:]
    return frames


def frame(ftype, flags, sid, payload=b""):
    return len(payload).to_bytes(3, "big") + bytes([ftype, flags]) + sid.to_bytes(4, "big") + payload


PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"


def goaway_code(frames):
    for ftype, _, _, payload in frames:
        if ftype == 7 and len(payload) >= 8:
            return struct.unpack(">I", payload[4:8])[0]
    return None


def probe(sock, data):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(sock)
    try:
        s.sendall(data)
    except BrokenPipeError:
        pass
    frames = read_frames(s, 3.0)
    s.close()
    return {"goaway": goaway_code(frames), "frames": [f[0] for f in frames]}


def cmd_raw(a):
    out = {}
    out["badPreface"] = probe(a.sock, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    out["dataOnStream0"] = probe(a.sock, PREFACE + frame(4, 0, 0) + frame(0, 0, 0, b"xx"))
    # HPACK index 0 does not exist: a compression error for the whole connection.
    out["badHpack"] = probe(a.sock, PREFACE + frame(4, 0, 0) + frame(1, 0x5, 1, b"\x80"))
    # A frame shorter than its type requires (PING must be 8 bytes).
    out["shortPing"] = probe(a.sock, PREFACE + frame(4, 0, 0) + frame(6, 0, 0, b"\x00"))
    out["truncated"] = probe(a.sock, PREFACE + frame(4, 0, 0) + b"\x00\x00\x10\x01")
    print(json.dumps(out))


def cmd_stress(a):
    chans = [channel(a.sock) for _ in range(a.channels)]
    first = threading.Barrier(a.streams + 1, timeout=60)
    calls, errors, got = [], [], [0]
    lock = threading.Lock()
    ids = []

    def watch(i):
        ch = chans[i % len(chans)]
        call = ch.unary_stream(SVC + "ListAndWatch", request_serializer=pb.Empty.SerializeToString,
                               response_deserializer=pb.ListAndWatchResponse.FromString)
        it = call(pb.Empty())
        with lock:
            calls.append(it)
        try:
            resp = next(it)
            with lock:
                got[0] += 1
                if not ids:
                    ids.extend(d.ID for d in resp.devices)
            first.wait()
            for _ in it:
                pass
        except grpc.RpcError as e:
            if e.code() != grpc.StatusCode.CANCELLED:
                with lock:
                    errors.append("stream: " + e.code().name)
        except threading.BrokenBarrierError:
            pass

    threads = [threading.Thread(target=watch, args=(i,), daemon=True) for i in range(a.streams)]
    for t in threads:
        t.start()
    first.wait()
    allocate = [unary(ch, "Allocate", pb.AllocateRequest, pb.AllocateResponse) for ch in chans]
    ok = [0]

    def one(i):
        req = pb.AllocateRequest(container_requests=[pb.ContainerAllocateRequest(
            devices_ids=[ids[i % len(ids)]])])
        r = allocate[i % len(allocate)](req, timeout=30)
        if len(r.container_responses) == 1 and r.container_responses[0].envs:
            with lock:
                ok[0] += 1

    t0 = time.time()
    with concurrent.futures.ThreadPoolExecutor(8) as ex:
        for f in [ex.submit(one, i) for i in range(a.allocs)]:
            try:
                f.result()
            except grpc.RpcError as e:
                errors.append("allocate: " + e.code().name)
    took = time.time() - t0
    for c in calls:
        c.cancel()
    for t in threads:
        t.join(10)
    for ch in chans:
        ch.close()
    print(json.dumps({"streams": got[0], "allocs": ok[0], "errors": errors[:10],
                      "allocSeconds": round(took, 3)}))


def cmd_agent(a):
    """One request on the agent API: 4-byte big-endian length, then JSON."""
    req = json.dumps({"version": 1, "id": 1, "op": a.op, "args": json.loads(a.args)}).encode()
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(a.sock)
    s.sendall(struct.pack(">I", len(req)) + req)
    hdr = b""
    while len(hdr) < 4:
        hdr += s.recv(4 - len(hdr))
    n = struct.unpack(">I", hdr)[0]
    body = b""
    while len(body) < n:
        body += s.recv(n - len(body))
    s.close()
    reply = json.loads(body)
    print(json.dumps(reply))
    sys.exit(0 if reply.get("ok") else 1)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("options")
    s.add_argument("sock")
    s = sub.add_parser("watch")
    s.add_argument("sock")
    s.add_argument("--timeout", type=float, default=None)
    s = sub.add_parser("allocate")
    s.add_argument("sock")
    s.add_argument("ids", nargs="+")
    s = sub.add_parser("preferred")
    s.add_argument("sock")
    s.add_argument("size", type=int)
    s.add_argument("available")
    s.add_argument("--must", default="")
    s = sub.add_parser("errors")
    s.add_argument("sock")
    s = sub.add_parser("raw")
    s.add_argument("sock")
    s = sub.add_parser("stress")
    s.add_argument("sock")
    s.add_argument("--streams", type=int, default=100)
    s.add_argument("--allocs", type=int, default=1000)
    s.add_argument("--channels", type=int, default=4)
    s = sub.add_parser("agent")
    s.add_argument("sock")
    s.add_argument("op")
    s.add_argument("args", nargs="?", default="{}")
    a = p.parse_args()
    globals()["cmd_" + a.cmd](a)


if __name__ == "__main__":
    main()
