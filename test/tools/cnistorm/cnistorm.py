#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""A CNI storm the way a container runtime makes one, and its audit (test/integration/storm_*.sh).

  cnistorm.py run  --plugin BIN --conf TEMPLATE.json --netns PATH --log OUT.jsonl [options]
  cnistorm.py check --log OUT.jsonl --allocations ALLOCS.json --leases DIR [--expect-empty]

run: N containers, C at a time. Each does ADD; a failed ADD is followed by DEL (as containerd
tears a failed sandbox down) unless --no-del-failed; a successful one keeps its attachment with
probability --keep, else holds it for a random moment and DELs. A failed DEL (code 11: agent
unavailable) is retried like kubelet does, up to --del-retries times. Every exec is logged with
monotonic start/end times, exit status, CNI error code and, for ADD, the MAC and IP it got.

check: from the log and the final state,
  - no device held twice: the MAC identifies the device (the agent derives it from the device
    ID); the intervals [ADD returned, DEL started] of containers that got the same MAC must not
    overlap, and likewise for IP addresses. The true hold interval contains this one, so an
    overlap here is a real double hold;
  - every ADD error is a CNI error object with a code;
  - every allocation the agent reports belongs to a completed ADD without a DEL, and every
    such ADD still has its allocation (same MAC), and the host-local leases are exactly theirs;
  - with --expect-empty: nothing is allocated or leased at all.
"""
import argparse
import concurrent.futures as cf
import json
import os
import random
import subprocess
import sys
import threading
import time


def run_cni(a, cmd, cid, conf):
    env = {
        "PATH": os.environ.get("PATH", "/usr/sbin:/usr/bin:/sbin:/bin"),
        "CNI_COMMAND": cmd,
        "CNI_CONTAINERID": cid,
        "CNI_NETNS": a.netns,
        "CNI_IFNAME": "net1",
        "CNI_PATH": a.cni_path,
        "CNI_ARGS": "IgnoreUnknown=1;K8S_POD_NAMESPACE=storm;K8S_POD_NAME=%s;K8S_POD_UID=uid-%s" % (cid, cid),
    }
    if os.environ.get("KBNET_CNI_CONFIG"):
        env["KBNET_CNI_CONFIG"] = os.environ["KBNET_CNI_CONFIG"]
    t0 = time.monotonic()
    p = subprocess.run([a.plugin], input=conf, env=env, capture_output=True, timeout=120)
    t1 = time.monotonic()
    rec = {"cid": cid, "op": cmd, "rc": p.returncode, "t0": t0, "t1": t1}
    out = p.stdout.decode(errors="replace")
    try:
        res = json.loads(out) if out.strip() else {}
    except ValueError:
        res = {"unparsable": out[:200]}
    if p.returncode == 0 and cmd == "ADD":
        rec["mac"] = (res.get("interfaces") or [{}])[0].get("mac")
        rec["ip"] = (res.get("ips") or [{}])[0].get("address")
    elif p.returncode != 0:
        rec["code"] = res.get("code")
        rec["msg"] = res.get("msg")
        rec["stderr"] = p.stderr.decode(errors="replace")[-300:]
    return rec


def cmd_run(a):
    template = json.load(open(a.conf))
    logf = open(a.log, "w", buffering=1)
    lock = threading.Lock()
    rnd = random.Random(a.seed)
    plans = []
    for i in range(a.count):
        plans.append({"cid": "%s%04d" % (a.prefix, i), "keep": rnd.random() < a.keep,
                      "hold": rnd.random() * a.hold_ms / 1000.0})

    def log(rec):
        with lock:
            logf.write(json.dumps(rec) + "\n")

    def conf_for(cid):
        c = dict(template)
        rc = dict(c.get("runtimeConfig", {}))
        if a.devinfo_dir:
            rc["CNIDeviceInfoFile"] = os.path.join(a.devinfo_dir, cid + ".json")
        c["runtimeConfig"] = rc
        return json.dumps(c).encode()

    def delete(cid, conf):
        for attempt in range(a.del_retries):
            rec = run_cni(a, "DEL", cid, conf)
            rec["attempt"] = attempt
            log(rec)
            if rec["rc"] == 0:
                return
            time.sleep(0.1)

    def one(plan):
        cid = plan["cid"]
        conf = conf_for(cid)
        rec = run_cni(a, "ADD", cid, conf)
        log(rec)
        if rec["rc"] != 0:
            if a.del_failed:
                delete(cid, conf)
            return
        if plan["keep"]:
            return
        time.sleep(plan["hold"])
        delete(cid, conf)

    with cf.ThreadPoolExecutor(max_workers=a.concurrency) as ex:
        for f in [ex.submit(one, p) for p in plans]:
            f.result()
    return 0


def cmd_del_all(a):
    """DEL for every container of the log (what a runtime's cleanup would do)."""
    template = json.load(open(a.conf))
    cids = sorted({json.loads(l)["cid"] for l in open(a.log)})
    failed = []

    def one(cid):
        c = dict(template)
        if a.devinfo_dir:
            c["runtimeConfig"] = dict(c.get("runtimeConfig", {}),
                                      CNIDeviceInfoFile=os.path.join(a.devinfo_dir, cid + ".json"))
        rec = run_cni(a, "DEL", cid, json.dumps(c).encode())
        if rec["rc"] != 0:
            failed.append(rec)

    with cf.ThreadPoolExecutor(max_workers=a.concurrency) as ex:
        list(ex.map(one, cids))
    for r in failed:
        print("DEL %s failed: %s" % (r["cid"], r.get("msg")), file=sys.stderr)
    return 1 if failed else 0


def overlaps(name, holders):
    """holders: key -> list of (start, end, cid). Report overlapping intervals per key."""
    bad = []
    for key, iv in holders.items():
        iv.sort()
        for (s1, e1, c1), (s2, e2, c2) in zip(iv, iv[1:]):
            if s2 < e1:
                bad.append("%s %s held by %s [%.3f, %.3f] and %s [%.3f, %.3f]" %
                           (name, key, c1, s1, e1, c2, s2, e2))
    return bad


def cmd_check(a):
    recs = [json.loads(l) for l in open(a.log)]
    inf = float("inf")
    adds, dels = {}, {}
    bad = []
    for r in recs:
        if r["op"] == "ADD":
            adds[r["cid"]] = r
            if r["rc"] != 0 and not isinstance(r.get("code"), int):
                bad.append("ADD %s failed without a CNI error code: %s" % (r["cid"], r))
        else:
            dels.setdefault(r["cid"], []).append(r)
    by_mac, by_ip = {}, {}
    live = {}
    for cid, r in adds.items():
        if r["rc"] != 0:
            continue
        first_del = min((d["t0"] for d in dels.get(cid, [])), default=inf)
        by_mac.setdefault(r["mac"], []).append((r["t1"], first_del, cid))
        by_ip.setdefault(r["ip"], []).append((r["t1"], first_del, cid))
        if cid not in dels:
            live[cid] = r
        elif not any(d["rc"] == 0 for d in dels[cid]):
            bad.append("DEL of %s never succeeded: %s" % (cid, dels[cid][-1].get("msg")))
    for cid, ds in dels.items():
        if cid not in adds or adds[cid]["rc"] == 0:
            continue
        if not any(d["rc"] == 0 for d in ds):
            bad.append("DEL after the failed ADD of %s never succeeded" % cid)
    bad += overlaps("device (MAC)", by_mac)
    bad += overlaps("IP", by_ip)

    allocs = json.load(open(a.allocations))
    have = {x["containerID"]: x for x in allocs}
    devs = [x["deviceID"] for x in allocs]
    if len(devs) != len(set(devs)):
        bad.append("agent reports a device held twice: %s" % sorted(devs))
    want = {} if a.expect_empty else live
    for cid in have:
        if cid not in want:
            r = adds.get(cid)
            bad.append("agent holds %s for %s: %s" % (have[cid]["deviceID"], cid,
                       "no ADD" if not r else "ADD failed" if r["rc"] else "DEL completed"))
    for cid, r in want.items():
        if cid not in have:
            bad.append("completed ADD of %s (no DEL) has no allocation" % cid)
        elif have[cid]["mac"] != r["mac"]:
            bad.append("%s: agent MAC %s, ADD returned %s" % (cid, have[cid]["mac"], r["mac"]))
    if a.agent_ipam:
        # Agent IPAM: addresses live in the allocations. Each allocation holds addresses, no
        # address is held twice, and a live ADD's address is the one the agent holds for it.
        held = {}
        for x in allocs:
            ips = [i["address"] for i in x.get("ipam", {}).get("ips", [])]
            if not ips:
                bad.append("agent holds device %s for %s without an address" %
                           (x["deviceID"], x["containerID"]))
            for ip in ips:
                if ip in held:
                    bad.append("agent holds %s for %s and %s" % (ip, held[ip], x["containerID"]))
                held[ip] = x["containerID"]
        for cid, r in want.items():
            x = have.get(cid)
            if x and r["ip"] not in [i["address"] for i in x.get("ipam", {}).get("ips", [])]:
                bad.append("%s: ADD returned %s, the agent holds %s" % (cid, r["ip"], x.get("ipam")))
    leases = {}
    for f in os.listdir(a.leases) if a.leases and os.path.isdir(a.leases) else []:
        if f[0].isdigit():
            leases[f] = open(os.path.join(a.leases, f)).read().split()[0]
    lease_cids = sorted(leases.values())
    if not a.agent_ipam and lease_cids != sorted(want):
        extra = sorted(set(lease_cids) - set(want))
        missing = sorted(set(want) - set(lease_cids))
        bad.append("host-local leases differ: extra %s, missing %s" % (extra[:10], missing[:10]))
    n_ok = sum(1 for r in adds.values() if r["rc"] == 0)
    n_retry = sum(1 for ds in dels.values() for d in ds if d["rc"] != 0)
    print("%d ADD (%d ok, %d failed), %d DEL execs (%d failed and retried), %d live, "
          "%d devices reused" % (len(adds), n_ok, len(adds) - n_ok,
                                 sum(len(d) for d in dels.values()), n_retry, len(want),
                                 sum(len(v) - 1 for v in by_mac.values())))
    codes = {}
    for r in adds.values():
        if r["rc"]:
            codes[r.get("code")] = codes.get(r.get("code"), 0) + 1
    if codes:
        print("failed ADD codes: %s" % ", ".join("%s x%d" % kv for kv in sorted(codes.items(), key=str)))
    for b in bad[:30]:
        print("FAIL: " + b)
    return 1 if bad else 0


def main():
    p = argparse.ArgumentParser()
    p.add_argument("mode", choices=["run", "check", "del-all"])
    p.add_argument("--plugin")
    p.add_argument("--cni-path", default="/usr/lib/cni")
    p.add_argument("--conf")
    p.add_argument("--netns", default="")
    p.add_argument("--log", required=True)
    p.add_argument("--devinfo-dir")
    p.add_argument("--count", type=int, default=200)
    p.add_argument("--concurrency", type=int, default=32)
    p.add_argument("--keep", type=float, default=0.0)
    p.add_argument("--hold-ms", type=float, default=50)
    p.add_argument("--prefix", default="storm")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--no-del-failed", dest="del_failed", action="store_false")
    p.add_argument("--del-retries", type=int, default=100)
    p.add_argument("--allocations")
    p.add_argument("--leases")
    p.add_argument("--expect-empty", action="store_true")
    p.add_argument("--agent-ipam", action="store_true",
                   help="addresses come from the agent (ipam type kbnet), not host-local leases")
    a = p.parse_args()
    return {"run": cmd_run, "check": cmd_check, "del-all": cmd_del_all}[a.mode](a)


if __name__ == "__main__":
    sys.exit(main())
