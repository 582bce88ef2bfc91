#!/usr/bin/env python3
"""Regenerate the hand-made seed inputs of test/fuzz/corpus/<target>/seed-* from the repo's own
fixtures (deploy/, default.yaml, unit-test cases). Inputs the fuzzer found (minimised
reproducers, interesting cases) live beside them under other names and are kept."""
import json, os, struct, sys, zlib

here = os.path.dirname(os.path.abspath(__file__))
root = os.path.dirname(os.path.dirname(here))
seeds = {}


def add(target, name, data):
    if isinstance(data, str):
        data = data.encode()
    seeds.setdefault(target, {})["seed-" + name] = data


def js(o):
    return json.dumps(o, separators=(",", ":"))


# ---- netconf: "<command>\n<CNI_ARGS>\n<netconf>" ----
ARGS = ("IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME=testpmd-0;"
        "K8S_POD_INFRA_CONTAINER_ID=4f1c2b3a;K8S_POD_UID=0b5a8e46-1c2d-4e8f-9a0b-c1d2e3f4a5b6")
nads = []
text = open(os.path.join(root, "deploy/40-networks.yaml")).read()
for block in text.split("config: |")[1:]:
    lines = []
    for ln in block.splitlines()[1:]:
        if ln.startswith("    "):
            lines.append(ln[4:])
        elif ln.strip():
            break
    nads.append("\n".join(lines))
for i, c in enumerate(nads):
    add("netconf", "deploy-%d" % i, "ADD\n%s\n%s" % (ARGS, c))
full = {"cniVersion": "1.1.0", "name": "sriov_net.1", "type": "kbnet", "deviceType": "sriov-vf",
        "resourceName": "intel.com/intel_sriov_netdevice", "deviceID": "0000:3b:02.1",
        "pciBusID": "0000:3b:02.2", "agentSocket": "/tmp/kb/agent.sock", "agentTimeoutMs": 250,
        "cacheDir": "/tmp/c", "mac": "02:00:00:00:00:01", "mtu": 9000, "vlan": 100,
        "vlanQoS": 3, "vlanProto": "802.1ad", "spoofchk": "off", "trust": "on",
        "link_state": "enable", "min_tx_rate": 100, "max_tx_rate": 1000,
        "ipam": {"type": "host-local", "subnet": "10.0.0.0/24"},
        "args": {"cni": {"mac": "02:00:00:00:00:02", "ips": ["10.0.0.9/24"]}},
        "runtimeConfig": {"mac": "02:00:00:00:00:03", "deviceID": "0000:3b:02.3",
                          "ips": ["10.0.0.7/24"],
                          "CNIDeviceInfoFile": "/var/run/k8s.cni.cncf.io/devinfo/cni/x.json",
                          "portMappings": []}}
add("netconf", "full", "ADD\nK8S_POD_NAMESPACE=ns;K8S_POD_NAME=p\n" + js(full))
res_040 = {"cniVersion": "0.4.0",
           "interfaces": [{"name": "eth0", "mac": "02:00:00:00:00:01", "sandbox": "/run/netns/a"},
                          {"name": "veth1", "mac": "02:00:00:00:00:02", "sandbox": ""}],
           "ips": [{"version": "4", "address": "10.1.0.5/24", "gateway": "10.1.0.1", "interface": 0},
                   {"version": "6", "address": "2001:db8::5/64", "interface": 0}],
           "routes": [{"dst": "0.0.0.0/0"}, {"dst": "2001:db8:1::/48", "gw": "2001:db8::1"}],
           "dns": {"nameservers": ["10.1.0.53"], "domain": "example.org",
                   "search": ["a.example.org"], "options": ["ndots:2"]}}
res_110 = {"cniVersion": "1.1.0",
           "interfaces": [{"name": "net1", "mac": "02:00:00:00:00:01", "mtu": 9000,
                           "sandbox": "/run/netns/a", "socketPath": "/run/kbnet/pods/u/net1.sock"},
                          {"name": "net2", "sandbox": "/run/netns/a", "pciID": "0000:3b:02.1"}],
           "ips": [{"address": "10.1.0.5/24", "gateway": "10.1.0.1", "interface": 1}],
           "routes": [{"dst": "10.9.0.0/16", "gw": "10.1.0.254", "mtu": 1400, "advmss": 1360,
                       "priority": 100, "table": 200, "scope": 0}]}
chk = {"cniVersion": "1.0.0", "name": "net-a", "type": "kbnet", "deviceType": "virtio-user",
       "prevResult": dict(res_040, cniVersion="1.0.0")}
add("netconf", "check", "CHECK\nK8S_POD_NAMESPACE=ns;K8S_POD_NAME=p\n" + js(chk))
dele = {"cniVersion": "0.3.1", "name": "net-a", "type": "kbnet", "prevResult": {"ips": [{"address": "x"}]}}
add("netconf", "del-bad-prev", "DEL\n\n" + js(dele))
gc = {"cniVersion": "1.1.0", "name": "n", "type": "kbnet",
      "cni.dev/valid-attachments": [{"containerID": "abc", "ifname": "net1"},
                                    {"containerID": "def", "ifname": "eth0"}]}
add("netconf", "gc", "GC\n\n" + js(gc))
add("netconf", "status", "STATUS\n\n" + js({"cniVersion": "1.1.0", "name": "n", "type": "kbnet"}))

# ---- result: a result object ----
add("result", "040", js(res_040))
add("result", "110", js(res_110))
add("result", "031-noversion", js({k: v for k, v in res_040.items() if k != "cniVersion"}))
add("result", "host-local", js({"cniVersion": "1.0.0", "ips": [{"address": "10.56.0.2/24",
                                "gateway": "10.56.0.1"}], "routes": [{"dst": "0.0.0.0/0"}],
                                "dns": {}}))

# ---- api: frames a client sends ----
def frame(o):
    b = js(o).encode()
    return struct.pack(">I", len(b)) + b


pod = {"namespace": "default", "name": "testpmd-0", "uid": "0b5a8e46-1c2d-4e8f-9a0b-c1d2e3f4a5b6",
       "infraContainerID": "4f1c2b3a"}
attach = {"version": 1, "id": 1, "op": "attach",
          "args": {"containerID": "4f1c2b3a", "ifname": "net1", "network": "kbnet-virtio-user",
                   "deviceType": "virtio-user", "pool": "virtio_user", "netns": "/var/run/netns/x",
                   "mac": "02:00:00:00:00:07", "mtu": 1500, "vlan": 10, "pod": pod,
                   "config": {"spoofchk": "on"}}}
add("api", "attach", frame(attach))
add("api", "detach-check", frame({"version": 1, "id": 2, "op": "detach",
                                  "args": {"containerID": "4f1c2b3a", "ifname": "net1"}}) +
    frame({"version": 1, "id": 3, "op": "check",
           "args": {"containerID": "4f1c2b3a", "ifname": "net1", "mac": "02:00:00:00:00:07"}}))
add("api", "gc", frame({"version": 1, "id": 4, "op": "gc", "args": {"network": "kbnet-virtio-user",
                        "valid": [{"containerID": "4f1c2b3a", "ifname": "net1"}]}}))
add("api", "status-list", frame({"version": 1, "id": 5, "op": "status"}) +
    b"".join(frame({"version": 1, "id": 6 + i, "op": "list", "args": {"what": w}})
             for i, w in enumerate(["pools", "devices", "allocations"])) +
    frame({"version": 1, "id": 9, "op": "list", "args": {"what": "allocations", "pod": "default/testpmd-0"}}))
add("api", "fastpath", frame({"version": 1, "id": 10, "op": "ports"}) +
    frame({"version": 1, "id": 11, "op": "stats"}))
add("api", "bad-frames", frame({"version": 2, "op": "status"}) + struct.pack(">I", 3) + b"{x}" +
    struct.pack(">I", 0))

# ---- state: "<snapshot>--- journal\n<journal>", "@@@@@@@@ " lines get their CRC ----
def rec(o):
    return "@@@@@@@@ " + js(o) + "\n"


vu = {"containerID": "4f1c2b3a", "ifname": "net1", "network": "kbnet-virtio-user",
      "pool": "virtio_user", "resourceName": "kbnet.io/virtio_user", "deviceType": "virtio-user",
      "deviceID": "vu-3", "mac": "02:00:00:00:00:07", "created": "2026-11-22T10:00:00Z",
      "netns": "/var/run/netns/x", "mtu": 1500, "vlan": 10, "pod": pod,
      "vhostUser": {"socketPath": "/run/kbnet/pods/%s/net1.sock" % pod["uid"],
                    "socketDir": "/run/kbnet/pods/%s" % pod["uid"], "agentMode": "client",
                    "podMode": "server", "queues": 1, "claim": 3}}
# The two socket layouts attach makes (vport.c path_shape): per pod (above; the fuzz target's
# runDir is /run/kbnet) and per device, and one made under another runDir (kept, no socket).
vu_net3 = dict(vu, containerID="77bb", ifname="net3",
               vhostUser=dict(vu["vhostUser"], socketPath="/run/kbnet/pods/%s/net3.sock" % pod["uid"]))
vu_dev = dict(vu, containerID="55cc", ifname="net4", deviceID="vu-4",
              vhostUser=dict(vu["vhostUser"], socketPath="/run/kbnet/devices/vu-4/vhost-user.sock",
                             socketDir="/run/kbnet/devices/vu-4", agentMode="server"))
vu_old = dict(vu, containerID="66dd", ifname="net5", pod=dict(pod, uid="1b5a8e46-1c2d-4e8f-9a0b-c1d2e3f4a5b6"),
              vhostUser=dict(vu["vhostUser"], socketPath="/var/run/kbnet-old/pods/1b5a8e46-1c2d-4e8f-9a0b-c1d2e3f4a5b6/net5.sock",
                             socketDir="/var/run/kbnet-old/pods/1b5a8e46-1c2d-4e8f-9a0b-c1d2e3f4a5b6"))
vf = {"containerID": "99aa", "ifname": "net2", "network": "kbnet-sriov-netdev",
      "pool": "sriov_netdev", "deviceType": "sriov-vf", "deviceID": "0000:3b:02.1",
      "mac": "02:00:00:00:00:08", "created": "2026-11-22T10:00:01Z",
      "vf": {"pciAddress": "0000:3b:02.1", "pfPciAddress": "0000:3b:00.0", "pfName": "ens1f0",
             "vfIndex": 1, "driver": "iavf", "mode": "netdev", "podIfindex": 7, "moved": True,
             "settings": {"vlan": 100, "vlanQoS": 0, "vlanProto": "802.1Q", "spoofchk": "on",
                          "mac": "02:00:00:00:00:08"},
             "original": {"vf": {"vlan": 0, "vlanQoS": 0, "vlanProto": "802.1Q", "spoofchk": "on",
                                 "trust": "off", "link_state": "auto", "min_tx_rate": 0,
                                 "max_tx_rate": 0},
                          "name": "ens1f0v1", "ifindex": 12, "mac": "62:3a:11:00:00:01",
                          "mtu": 1500, "up": False}}}
snap = (rec({"kbnetState": 1, "seq": 5}) + rec({"key": "4f1c2b3a/net1", "value": vu}) +
        rec({"key": "99aa/net2", "value": vf}) + rec({"end": 2}))
jour = (rec({"seq": 6, "key": "99aa/net2"}) + rec({"seq": 7, "key": "77bb/net3", "value": vu_net3}) +
        rec({"seq": 8, "key": "55cc/net4", "value": vu_dev}) + rec({"seq": 9, "key": "66dd/net5", "value": vu_old}))
add("state", "snap-journal", snap + "--- journal\n" + jour)
add("state", "journal-only", "--- journal\n" + rec({"seq": 1, "key": "4f1c2b3a/net1", "value": vu}))
add("state", "torn-tail", snap + "--- journal\n" + jour + '@@@@@@@@ {"seq":10,"key":"x')
add("state", "bad-snapshot", rec({"kbnetState": 2, "seq": 1}) + rec({"end": 0}))

# ---- config: YAML ----
add("config", "default", open(os.path.join(root, "node-agent/agent/default.yaml")).read())
cm = open(os.path.join(root, "deploy/20-configmap.yaml")).read().split("agent.yaml: |\n")[1]
add("config", "deploy", "\n".join(l[4:] for l in cm.splitlines() if l.startswith("    ")) + "\n")
add("config", "unit-full", "apiSocket: /tmp/x/a.sock\nstateDir: /tmp/x/state\nrunDir: /tmp/x/run\n"
    "resourcePrefix: example.com\nlogLevel: debug\napi:\n  maxClients: 7\n  idleTimeoutMs: 1500\n"
    "pools:\n  - name: a\n    type: virtio-user\n    count: 3\n    mode: server\n"
    "    queues: 2\n    mtu: 9000\n    numaNode: 1\n"
    "  - name: b\n    type: virtio-user\n    devicePlugin: false\n")
add("config", "flow", "{pools: [{name: a, type: virtio-user, count: 2}], fastpath: {memory: auto}}\n")

# ---- protobuf helpers ----
def varint(n):
    out = b""
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out += bytes([b | 0x80])
        else:
            return out + bytes([b])


def pb_bytes(field, b):
    if isinstance(b, str):
        b = b.encode()
    return varint(field << 3 | 2) + varint(len(b)) + b


def pb_int(field, n):
    return varint(field << 3) + varint(n)


alloc_req = pb_bytes(1, pb_bytes(1, "vu-0") + pb_bytes(1, "vu-1")) + pb_bytes(1, pb_bytes(1, "vu-2"))
pref_req = pb_bytes(1, pb_bytes(1, "vu-0") + pb_bytes(1, "vu-1") + pb_bytes(1, "vu-2") +
                    pb_bytes(2, "vu-1") + pb_int(3, 2))
prestart_req = pb_bytes(1, "vu-0")
podres = (pb_bytes(1, pb_bytes(1, "testpmd-0") + pb_bytes(2, "default") +
                   pb_bytes(3, pb_bytes(1, "app") + pb_bytes(2, pb_bytes(1, "kbnet.io/virtio_user") +
                                                          pb_bytes(2, "vu-0") + pb_bytes(2, "vu-1") +
                                                          pb_bytes(3, pb_bytes(1, pb_int(1, 0)))))) +
          pb_bytes(1, pb_bytes(1, "idle") + pb_bytes(2, "default") + pb_bytes(3, pb_bytes(1, "app"))))
alloc_resp = pb_bytes(1, pb_bytes(1, pb_bytes(1, "VHOST_USER_SOCKET") + pb_bytes(2, "/run/kbnet/x.sock")) +
                      pb_bytes(2, pb_bytes(1, "/run/kbnet/pods/x") + pb_bytes(2, "/run/kbnet/pods/x")) +
                      pb_bytes(3, pb_bytes(1, "/dev/vfio/5") + pb_bytes(2, "/dev/vfio/5") + pb_bytes(3, "rw")))
law = pb_bytes(1, pb_bytes(1, "vu-0") + pb_bytes(2, "Healthy") + pb_bytes(3, pb_bytes(1, pb_int(1, 1))))
reg = (pb_bytes(1, "v1beta1") + pb_bytes(2, "kbnet-virtio_user.sock") + pb_bytes(3, "kbnet.io/virtio_user") +
       pb_bytes(4, pb_int(2, 1)))
# Index into fuzz_protobuf.c's descs[].
for idx, name, msg in [(1, "register", reg), (3, "list-and-watch", law), (6, "preferred", pref_req),
                       (8, "allocate", alloc_req), (9, "allocate-response", alloc_resp),
                       (12, "podresources", podres), (5, "prestart", prestart_req)]:
    add("protobuf", name, bytes([idx]) + msg)
add("podres", "list", podres)
add("podres", "empty", b"")

# ---- grpc: one HTTP/2 client connection ----
def h2frame(ftype, flags, sid, payload):
    return struct.pack(">I", len(payload))[1:] + bytes([ftype, flags]) + struct.pack(">I", sid) + payload


def hpack(headers):
    out = b""
    for k, v in headers:  # literal without indexing, new name, no Huffman
        out += b"\x00" + varint(len(k)) + k.encode() + varint(len(v)) + v.encode()
    return out


PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"


def grpc_call(sid, method, msg, ctype="application/grpc"):
    hdrs = [(":method", "POST"), (":scheme", "http"), (":path", "/v1beta1.DevicePlugin/" + method),
            (":authority", "/var/lib/kubelet/device-plugins/kbnet.sock"), ("content-type", ctype),
            ("te", "trailers"), ("grpc-accept-encoding", "identity")]
    return (h2frame(1, 4, sid, hpack(hdrs)) +
            h2frame(0, 1, sid, b"\x00" + struct.pack(">I", len(msg)) + msg))


settings = h2frame(4, 0, 0, struct.pack(">HI", 3, 100)) + h2frame(4, 1, 0, b"")
add("grpc", "allocate", PREFACE + settings + grpc_call(1, "Allocate", alloc_req))
add("grpc", "options-list", PREFACE + settings + grpc_call(1, "GetDevicePluginOptions", b"") +
    grpc_call(3, "ListAndWatch", b"") + h2frame(6, 0, 0, b"12345678"))
add("grpc", "preferred-prestart", PREFACE + settings + grpc_call(1, "GetPreferredAllocation", pref_req) +
    grpc_call(3, "PreStartContainer", prestart_req) + h2frame(3, 0, 3, struct.pack(">I", 8)))
add("grpc", "bad-calls", PREFACE + settings + grpc_call(1, "Nope", b"") +
    grpc_call(3, "Allocate", b"\xff\xff", "text/plain") + h2frame(8, 0, 0, struct.pack(">I", 65535)) +
    h2frame(7, 0, 0, struct.pack(">II", 0, 0)))

# ---- kcfg: "<context>\n<kubeconfig>" (test_kube.c's kubeconfig) ----
kubeconfig = ("apiVersion: v1\nkind: Config\ncurrent-context: b\n"
              "clusters:\n"
              "- name: c1\n  cluster: {server: 'https://one:6443/', certificate-authority-data: aGVsbG8=}\n"
              "- name: c2\n  cluster:\n    server: http://two:8080\n"
              "    certificate-authority: pki/ca.crt\n    insecure-skip-tls-verify: true\n"
              "contexts:\n"
              "- name: a\n  context: {cluster: c1, user: u1}\n"
              "- name: b\n  context: {cluster: c2, user: u2}\n"
              "- name: x\n  context: {cluster: c1, user: u3}\n"
              "- name: y\n  context: {cluster: nope, user: u1}\n"
              "- name: z\n  context: {cluster: c1, user: u4}\n"
              "- name: w\n  context: {cluster: c1, user: u5}\n"
              "users:\n"
              "- name: u1\n  user: {token: abc}\n"
              "- name: u2\n  user: {tokenFile: tok}\n"
              "- name: u3\n  user:\n    exec: {command: aws}\n"
              "- name: u4\n  user: {client-certificate-data: aGk=}\n"
              "- name: u5\n  user: {client-certificate-data: aGk=, client-key-data: a2V5}\n")
for ctx in ["", "a", "x", "y", "z", "w"]:
    add("kcfg", "ctx-" + (ctx or "current"), ctx + "\n" + kubeconfig)

# ---- kwatch: chunk size byte, then watch events ----
def podobj(name, uid, rv, phase="Running"):
    return {"kind": "Pod", "apiVersion": "v1",
            "metadata": {"name": name, "namespace": "default", "uid": uid, "resourceVersion": rv,
                         "annotations": {"k8s.v1.cni.cncf.io/networks": "kbnet-virtio-user"}},
            "spec": {"nodeName": "node-a"}, "status": {"phase": phase}}


uid = "0b5a8e46-1c2d-4e8f-9a0b-c1d2e3f4a5b6"
events = [{"type": "ADDED", "object": podobj("testpmd-0", uid, "101")},
          {"type": "MODIFIED", "object": podobj("testpmd-0", uid, "102", "Succeeded")},
          {"type": "BOOKMARK", "object": {"kind": "Pod", "metadata": {"resourceVersion": "103"}}},
          {"type": "ADDED", "object": podobj("other", "11111111-2222-3333-4444-555555555555", "104")},
          {"type": "DELETED", "object": podobj("testpmd-0", uid, "105")}]
add("kwatch", "events", bytes([7]) + "".join(js(e) + "\n" for e in events).encode())
add("kwatch", "error-410", bytes([0]) + (js(events[0]) + "\n" + js(
    {"type": "ERROR", "object": {"kind": "Status", "code": 410, "message": "too old resource version"}}) + "\n").encode())
add("kwatch", "malformed", bytes([64]) + (js(events[0]) + "\n{\"type\":\"ADDED\"}\n" + js(events[1])).encode())

# ---- netlink: datagrams (2-byte LE length + bytes); sequence number 0 = the request's ----
def nlattr(atype, payload):
    b = struct.pack("<HH", 4 + len(payload), atype) + payload
    return b + b"\0" * (-len(b) % 4)


def nlmsg(mtype, flags, payload):
    return struct.pack("<IHHII", 16 + len(payload), mtype, flags, 0, 0) + payload


def dgram(*msgs):
    b = b"".join(msgs)
    return struct.pack("<H", len(b)) + b


ifi = struct.pack("<BBHiII", 0, 0, 1, 5, 0x1043, 0)
vfinfo = lambda vf: nlattr(1, nlattr(1, struct.pack("<I", vf) + bytes([2, 0, 0, 0, 0, vf + 1]) + b"\0" * 26) +
                          nlattr(2, struct.pack("<III", vf, 100, 3)) +
                          nlattr(4, struct.pack("<II", vf, 1)) + nlattr(5, struct.pack("<II", vf, 2)) +
                          nlattr(6, struct.pack("<III", vf, 10, 1000)) + nlattr(9, struct.pack("<II", vf, 0)) +
                          nlattr(12, nlattr(1, struct.pack("<IIIHH", vf, 100, 3, 0x88a8, 0))))
newlink = nlmsg(16, 0, ifi + nlattr(3, b"ens1f0\0") + nlattr(1, bytes([2, 0, 0, 0, 0, 9])) +
                nlattr(4, struct.pack("<I", 1500)) + nlattr(21, struct.pack("<I", 2)) +
                nlattr(22, vfinfo(0) + vfinfo(1)))
ack = nlmsg(2, 0, struct.pack("<i", 0) + nlmsg(16, 5, ifi)[:16])
err_ext = nlmsg(2, 0x300, struct.pack("<i", -19) + nlmsg(16, 5, ifi)[:16] +
                nlattr(1, b"Cannot find device\0"))
add("netlink", "newlink-ack", dgram(newlink, ack))
add("netlink", "newlink-vfs", dgram(newlink) + dgram(nlmsg(3, 0, b"\0\0\0\0")))
add("netlink", "error-extack", dgram(err_ext))
add("netlink", "stale-then-ok", dgram(newlink.replace(struct.pack("<II", 0, 0), struct.pack("<II", 99, 0), 1)) +
    dgram(nlmsg(1, 0, b"")) + dgram(newlink))

# ---- metrics: one HTTP client connection ----
add("metrics", "get-metrics", "GET /metrics HTTP/1.1\r\nHost: 127.0.0.1:9402\r\nAccept: text/plain\r\n\r\n")
add("metrics", "health-ready", "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\nHEAD /readyz HTTP/1.1\r\nHost: x\r\n"
    "Connection: close\r\n\r\n")
add("metrics", "post-other", "POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello"
    "GET /nope?x=1 HTTP/1.0\r\n\r\n")
add("metrics", "chunked", "PUT /healthz HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n")

# ---- httpd: a request head as the metrics server parses it (test_metrics' cases) ----
add("httpd", "get-query", "GET /metrics?x=1 HTTP/1.1\r\nHost: a\r\nAccept: */*\r\n\r\n")
add("httpd", "head-lf", "HEAD /healthz HTTP/1.0\n\n")
add("httpd", "pipelined", "GET / HTTP/1.1\r\n\r\nGET /x")
add("httpd", "post", "POST /metrics HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello")
add("httpd", "version", "GET /metrics HTTP/2.0\r\n\r\n")
add("httpd", "folded", "GET / HTTP/1.1\r\nA: b\r\n folded\r\n\r\n")
add("httpd", "long-path", "GET /" + "0" * 256 + "#f HTTP/1.1\r\n\r\n")
add("httpd", "incomplete", "GET /readyz HTTP/1.1\r\nHost: x\r\n\r")

# ---- fp_switch: extra ports byte, [10-byte ports], then frames (in slot, u16 LE length, bytes) ----
def mac(x):
    return bytes([2, 0, 0, 0, 0, x])


def eth(dst, src, vlan=None, payload=46):
    h = dst + src + (struct.pack(">HH", 0x8100, vlan) if vlan is not None else b"") + b"\x08\x00"
    return h + b"\x45" + b"\0" * (payload - 1)


def fr(slot, frame):
    return bytes([slot]) + struct.pack("<H", len(frame)) + frame


BCAST = b"\xff" * 6
add("fp_switch", "pods", b"\0" + fr(1, eth(mac(2), mac(1))) + fr(1, eth(BCAST, mac(1))) +
    fr(2, eth(mac(9), mac(2))) + fr(3, eth(mac(1), mac(7))) + fr(4, eth(mac(5), mac(4))) +
    fr(1, eth(mac(2), mac(1), 5)) + fr(2, eth(mac(1), mac(2), payload=1200)) + fr(5, mac(1) + mac(5)))
add("fp_switch", "uplink", b"\0" + fr(0, eth(mac(1), mac(0x77), 100)) + fr(0, eth(mac(4), mac(0x77))) +
    fr(0, eth(BCAST, mac(0x77), 200)) + fr(0, eth(mac(5), mac(0x77), 300)) +
    fr(0, eth(mac(2), mac(0x77), 100, payload=1400)) + fr(0, eth(mac(1), mac(0x77))[:16]))
add("fp_switch", "extra-ports", bytes([2]) + bytes([6]) + mac(6) + bytes([20, 0, 6]) +
    bytes([7]) + mac(7) + bytes([24, 3, 0]) + fr(6, eth(mac(1), mac(6), 100)) + fr(7, eth(BCAST, mac(7))) +
    fr(0, eth(mac(6), mac(0x77), 96)))


# ---- fp_vring: 8-byte header (ring size log2, flags, source/destination last_avail), then
# the two pods' 4 KiB memories: a ring of one entry at the start of each, the source's chain
# a virtio-net header (offload requests) and a TCP or UDP frame, the destination's one
# 1 KiB writable buffer. ----
def vr_mem(desc_addr, desc_len, desc_flags, buf_off, buf):
    m = bytearray(4096)
    m[0:16] = struct.pack("<QIHH", desc_addr, desc_len, desc_flags, 0)
    m[16:22] = struct.pack("<HHH", 0, 1, 0)  # avail: flags, idx 1, ring[0] = 0
    m[buf_off:buf_off + len(buf)] = buf
    return bytes(m)


def vr_frame(v6, proto, payload):
    l4 = struct.pack(">HHIIBBHHH", 1, 2, 0, 0, 5 << 4, 0x18, 0xffff, 0, 0) if proto == 6 \
        else struct.pack(">HHHH", 1, 2, 8 + payload, 0)
    if v6:
        ip = struct.pack(">IHBB", 0x60000000, len(l4) + payload, proto, 64) + b"\1" * 32
        et = b"\x86\xdd"
    else:
        ip = struct.pack(">BBHHHBBH", 0x45, 0, 20 + len(l4) + payload, 0, 0x4000, 64, proto, 0) + \
            b"\x0a\0\0\1\x0a\0\0\2"
        et = b"\x08\x00"
    return b"\x02" * 12 + et + ip + l4 + bytes(i & 0xff for i in range(payload))


def vr_seed(name, vnet, frame):
    buf = vnet + struct.pack("<H", 0) + frame
    src = vr_mem(0x10000 + 256, len(buf), 0, 256, buf)
    dst = vr_mem(0x40000 + 1024, 1024, 2, 1024, b"")
    add("fp_vring", name, bytes([0, 1, 0, 0, 0, 0, 0, 0]) + src + dst)


vr_seed("tso4", struct.pack("<BBHHHH", 1, 1, 54, 200, 34, 16), vr_frame(False, 6, 900))
vr_seed("tso6", struct.pack("<BBHHHH", 1, 4, 74, 300, 54, 16), vr_frame(True, 6, 800))
vr_seed("csum-udp", struct.pack("<BBHHHH", 1, 0, 0, 0, 34, 6), vr_frame(False, 17, 500))
vr_seed("plain", b"\0" * 10, vr_frame(False, 6, 100))

for target, files in sorted(seeds.items()):
    d = os.path.join(here, "corpus", target)
    os.makedirs(d, exist_ok=True)
    for name, data in files.items():
        with open(os.path.join(d, name), "wb") as f:
            f.write(data)
    print("%-10s %d seeds" % (target, len(files)))
