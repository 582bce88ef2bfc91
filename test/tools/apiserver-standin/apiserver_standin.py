#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Stand-in for kube-apiserver (no Kubernetes control plane can run on these machines).

It serves the part of the published Kubernetes API (core/v1) that kbnet-agent uses, the way the
real API server answers it:
  GET  /api/v1/pods?fieldSelector=spec.nodeName=N&limit=&continue=   PodList with
       metadata.resourceVersion and metadata.continue; an expired continue token is 410
       Expired; unsupported field selectors are 400 BadRequest ("field label not supported")
  GET  /api/v1/pods?watch=1&resourceVersion=R&allowWatchBookmarks=true&timeoutSeconds=T
       200 and a chunked stream of {"type": ADDED|MODIFIED|DELETED|BOOKMARK|ERROR, "object"}
       lines; a resourceVersion older than the retained history gets an ERROR event carrying a
       410 Expired Status, then the stream ends (as the real server does); BOOKMARK objects
       carry only kind, apiVersion and metadata.resourceVersion; the stream ends after T s
  POST /api/v1/namespaces/{ns}/events   core/v1 Event, validated (kind, apiVersion,
       metadata.name or generateName, namespace matching the path, involvedObject, reason,
       type Normal|Warning), 201 with the stored object, 409 AlreadyExists on a name clash
Errors are Status objects ({"kind":"Status","apiVersion":"v1","status":"Failure","message",
"reason","code"}): 401 Unauthorized for a missing or unknown bearer token, 403 Forbidden (with
the RBAC-style message) when forbidden by the test or by the ClusterRole given with --rbac.

Tests drive it through a separate plain-HTTP control listener (JSON):
  POST /pods {"namespace","name","node"[,"uid"]}   DELETE /pods/NS/NAME
  POST /tokens {"valid": [...]}                    POST /config {...settings below...}
  POST /compact (drop the watch history)           POST /expire-watches (410 to open watches)
  GET  /requests  /events  /state
Settings: forbidden (bool), listDelay, watchDelay, eventDelay (seconds before answering),
bookmarkSeconds (bookmark interval in watches, 0 = none), listFail (HTTP status to answer the
next N lists with: {"code": 500, "count": 2}).

usage: apiserver_standin.py --ready-file F [--tls-cert C --tls-key K] [--token T]
                            [--rbac clusterrole.json]
Both listeners bind 127.0.0.1 on free ports picked by the kernel; F receives
{"port": P, "controlPort": Q, "pid": PID} once they listen.
"""
import argparse
import base64
import json
import os
import ssl
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit


def status_obj(code, reason, message, details=None):
    st = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
          "message": message, "reason": reason, "code": code}
    if details:
        st["details"] = details
    return st


def now_rfc3339():
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


class Store:
    """Pods, resourceVersions, watch history, posted events, request log."""

    def __init__(self, tokens, rbac):
        self.lock = threading.Condition()
        self.rv = 1
        self.pods = {}  # (ns, name) -> pod
        self.history = []  # (rv, type, pod snapshot)
        self.compacted = 0  # history at or below this rv is gone
        self.snapshots = {}  # rv -> sorted pod list, for continue tokens
        self.events = []
        self.requests = []
        self.tokens = set(tokens)
        self.rbac = rbac  # None, or ClusterRole rules
        self.rules_used = set()
        self.cfg = {"forbidden": False, "listDelay": 0, "watchDelay": 0, "eventDelay": 0,
                    "bookmarkSeconds": 0, "listFail": None}
        self.expire_gen = 0  # bumped to send 410 to open watches
        self.open_watches = 0

    def bump(self):
        self.rv += 1
        return self.rv

    def put_pod(self, ns, name, node, uid=None):
        with self.lock:
            key = (ns, name)
            old = self.pods.get(key)
            rv = self.bump()
            if old:
                pod = json.loads(json.dumps(old))
                pod["metadata"]["resourceVersion"] = str(rv)
                pod["metadata"].setdefault("labels", {})["touched"] = str(rv)
                etype = "MODIFIED"
            else:
                pod = {
                    "metadata": {"name": name, "namespace": ns, "uid": uid or str(uuid.uuid4()),
                                 "resourceVersion": str(rv), "creationTimestamp": now_rfc3339(),
                                 "labels": {"app": name}},
                    "spec": {"nodeName": node, "containers": [{"name": "app", "image": "busybox"}]},
                    "status": {"phase": "Running"},
                }
                etype = "ADDED"
            self.pods[key] = pod
            self.history.append((rv, etype, pod))
            self.lock.notify_all()
            return pod

    def delete_pod(self, ns, name):
        with self.lock:
            pod = self.pods.pop((ns, name), None)
            if not pod:
                return None
            rv = self.bump()
            pod = json.loads(json.dumps(pod))
            pod["metadata"]["resourceVersion"] = str(rv)
            pod["metadata"]["deletionTimestamp"] = now_rfc3339()
            self.history.append((rv, "DELETED", pod))
            self.lock.notify_all()
            return pod

    def compact(self):
        with self.lock:
            self.compacted = self.rv
            self.history = []
            self.snapshots = {}

    def allowed(self, verb, resource):
        """RBAC on a ClusterRole's rules (core group only: all the agent uses)."""
        if self.rbac is None:
            return True
        for i, rule in enumerate(self.rbac):
            groups = rule.get("apiGroups", [])
            if "" not in groups and "*" not in groups:
                continue
            if resource not in rule.get("resources", []) and "*" not in rule.get("resources", []):
                continue
            if verb in rule.get("verbs", []) or "*" in rule.get("verbs", []):
                self.rules_used.add("%d:%s:%s" % (i, resource, verb))
                return True
        return False


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "apiserver-standin"
    store = None

    def log_message(self, fmt, *args):  # quiet: the request log is in the store
        pass

    # ---- plumbing ----
    def send_json(self, code, obj, extra=None):
        body = (json.dumps(obj) + "\n").encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-cache, private")
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)
        self.record["code"] = code

    def send_status(self, code, reason, message, details=None):
        self.send_json(code, status_obj(code, reason, message, details))

    def chunk(self, obj):
        data = (json.dumps(obj) + "\n").encode()
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        self.wfile.flush()

    def read_body(self):
        n = int(self.headers.get("Content-Length") or 0)
        if n > 1 << 20:
            raise ValueError("body too large")
        return self.rfile.read(n) if n else b""

    # ---- API ----
    def authenticate(self):
        auth = self.headers.get("Authorization", "")
        token = auth[len("Bearer "):] if auth.startswith("Bearer ") else None
        self.record["token"] = token
        if token is None or token not in self.store.tokens:
            self.send_status(401, "Unauthorized", "Unauthorized")
            return False
        return True

    def authorize(self, verb, resource, scope):
        st = self.store
        user = "system:serviceaccount:kbnet:kbnet-agent"
        if st.cfg["forbidden"] or not st.allowed(verb, resource):
            self.record["forbiddenBy"] = "test" if st.cfg["forbidden"] else "rbac"
            self.send_status(403, "Forbidden",
                             'pods is forbidden: User "%s" cannot %s resource "%s" in API group "" %s'
                             % (user, verb, resource, scope) if resource == "pods" else
                             '%s is forbidden: User "%s" cannot %s resource "%s" in API group "" %s'
                             % (resource, user, verb, resource, scope),
                             {"kind": resource})
            return False
        return True

    def do_GET(self):
        self.dispatch("GET")

    def do_POST(self):
        self.dispatch("POST")

    def do_DELETE(self):
        self.dispatch("DELETE")

    def do_PUT(self):
        self.dispatch("PUT")

    def do_PATCH(self):
        self.dispatch("PATCH")

    def dispatch(self, method):
        url = urlsplit(self.path)
        q = {k: v[-1] for k, v in parse_qs(url.query, keep_blank_values=True).items()}
        self.record = {"method": method, "path": url.path, "query": q, "time": time.time()}
        with self.store.lock:
            self.store.requests.append(self.record)
        try:
            # Read the body before any answer, so that an early 401/403 leaves the
            # keep-alive connection at the next request.
            try:
                self.body = self.read_body()
            except ValueError:
                self.send_status(413, "RequestEntityTooLarge", "request is too large")
                self.close_connection = True
                return
            if not self.authenticate():
                return
            parts = url.path.strip("/").split("/")
            if method == "GET" and url.path == "/api/v1/pods":
                if q.get("watch") in ("1", "true"):
                    if self.authorize("watch", "pods", "at the cluster scope"):
                        self.watch_pods(q)
                else:
                    if self.authorize("list", "pods", "at the cluster scope"):
                        self.list_pods(q)
            elif (method == "POST" and len(parts) == 5 and parts[:3] == ["api", "v1", "namespaces"]
                  and parts[4] == "events"):
                if self.authorize("create", "events", 'in the namespace "%s"' % parts[3]):
                    self.create_event(parts[3])
            else:
                self.send_status(404, "NotFound", "the server could not find the requested resource")
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    def node_of(self, q):
        sel = q.get("fieldSelector", "")
        if q.get("labelSelector"):
            self.send_status(400, "BadRequest", "labelSelector not supported by this stand-in")
            return None
        if not sel:
            return ""
        node = None
        for term in sel.split(","):
            if "=" not in term:
                self.send_status(400, "BadRequest", 'invalid field selector: "%s"' % term)
                return None
            k, v = term.split("=", 1)
            k = k.rstrip("=")
            if k != "spec.nodeName":
                self.send_status(400, "BadRequest",
                                 'field label not supported: %s' % k)
                return None
            node = v
        return node

    def delay(self, key):
        d = self.store.cfg.get(key) or 0
        if d:
            time.sleep(d)

    def list_pods(self, q):
        st = self.store
        node = self.node_of(q)
        if node is None:
            return
        self.delay("listDelay")
        with st.lock:
            fail = st.cfg.get("listFail")
            if fail and fail.get("count", 0) > 0:
                fail["count"] -= 1
                code = int(fail.get("code", 500))
                self.send_status(code, {500: "InternalError", 503: "ServiceUnavailable",
                                        429: "TooManyRequests"}.get(code, "InternalError"),
                                 "injected failure")
                return
            limit = int(q.get("limit") or 0)
            cont = q.get("continue")
            if cont:
                try:
                    tok = json.loads(base64.b64decode(cont))
                    rv, start = int(tok["rv"]), int(tok["start"])
                except (ValueError, KeyError, TypeError):
                    self.send_status(400, "BadRequest", "continue key is not valid")
                    return
                items = st.snapshots.get(rv)
                if items is None:
                    self.send_status(410, "Expired",
                                     "The provided continue parameter is too old to display a "
                                     "consistent list result. You can start a new list without "
                                     "the continue parameter.")
                    return
            else:
                rv, start = st.rv, 0
                items = sorted((p for p in st.pods.values()
                                if not node or p["spec"]["nodeName"] == node),
                               key=lambda p: (p["metadata"]["namespace"], p["metadata"]["name"]))
                items = json.loads(json.dumps(items))
                if limit:
                    st.snapshots[rv] = items
            page = items[start:start + limit] if limit else items[start:]
            md = {"resourceVersion": str(rv)}
            if limit and start + limit < len(items):
                md["continue"] = base64.b64encode(
                    json.dumps({"rv": rv, "start": start + limit}).encode()).decode()
                md["remainingItemCount"] = len(items) - start - limit
        self.send_json(200, {"kind": "PodList", "apiVersion": "v1", "metadata": md, "items": page})

    def watch_pods(self, q):
        st = self.store
        node = self.node_of(q)
        if node is None:
            return
        self.delay("watchDelay")
        timeout = int(q.get("timeoutSeconds") or 1800)
        bookmarks = q.get("allowWatchBookmarks") == "true"
        rv_s = q.get("resourceVersion", "")
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Transfer-Encoding", "chunked")
        self.send_header("Cache-Control", "no-cache, private")
        self.end_headers()
        self.wfile.flush()
        self.record["code"] = 200

        def mine(pod):
            return not node or pod["spec"]["nodeName"] == node

        deadline = time.time() + timeout
        with st.lock:
            st.open_watches += 1
            gen = st.expire_gen
            if rv_s in ("", "0"):
                pending = [("ADDED", p) for p in st.pods.values() if mine(p)]
                pos_rv = st.rv
            else:
                rv = int(rv_s)
                if rv < st.compacted:
                    pending = None
                else:
                    pending = [(t, p) for (r, t, p) in st.history if r > rv and mine(p)]
                    pos_rv = max([rv] + [r for (r, _, _) in st.history])
        try:
            if pending is None:
                self.chunk({"type": "ERROR", "object": status_obj(
                    410, "Expired", "too old resource version: %s (%d)" % (rv_s, st.compacted))})
                self.wfile.write(b"0\r\n\r\n")
                return
            for t, p in pending:
                self.chunk({"type": t, "object": p})
            last_bm = time.time()
            while True:
                with st.lock:
                    now = time.time()
                    bm_every = st.cfg.get("bookmarkSeconds") or 0
                    wait = deadline - now
                    if bookmarks and bm_every:
                        wait = min(wait, last_bm + bm_every - now)
                    if wait > 0:
                        st.lock.wait(min(wait, 0.5))
                    if st.expire_gen != gen:
                        out = [("ERROR", status_obj(410, "Expired",
                                                    "too old resource version: %d (%d)"
                                                    % (pos_rv, st.rv)))]
                    else:
                        out = [(t, p) for (r, t, p) in st.history if r > pos_rv and mine(p)]
                        if st.history:
                            pos_rv = max(pos_rv, st.history[-1][0])
                        if bookmarks and bm_every and time.time() >= last_bm + bm_every:
                            # A bookmark may carry a resourceVersion newer than any event sent.
                            pos_rv = max(pos_rv, st.rv)
                            out.append(("BOOKMARK", {"kind": "Pod", "apiVersion": "v1",
                                                     "metadata": {"resourceVersion": str(pos_rv),
                                                                  "creationTimestamp": None}}))
                            last_bm = time.time()
                for t, p in out:
                    self.chunk({"type": t, "object": p})
                if out and out[0][0] == "ERROR":
                    break
                if time.time() >= deadline:
                    break
            self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()
        finally:
            with st.lock:
                st.open_watches -= 1

    def create_event(self, ns):
        st = self.store
        self.delay("eventDelay")
        if self.headers.get("Content-Type", "").split(";")[0] != "application/json":
            self.send_status(415, "UnsupportedMediaType",
                             'the body of the request was in an unknown format - accepted media '
                             'types include: application/json, application/yaml, '
                             'application/vnd.kubernetes.protobuf')
            return
        try:
            ev = json.loads(self.body)
        except ValueError as e:
            self.send_status(400, "BadRequest", "invalid JSON: %s" % e)
            return
        errs = []
        md = ev.get("metadata") or {}
        if ev.get("kind") != "Event" or ev.get("apiVersion") != "v1":
            errs.append("kind/apiVersion must be Event/v1")
        if not md.get("name") and not md.get("generateName"):
            errs.append("metadata.name: Required value: name or generateName is required")
        if md.get("namespace", ns) != ns:
            errs.append("metadata.namespace: Invalid value: does not match the namespace of the request")
        inv = ev.get("involvedObject") or {}
        if inv.get("namespace", ns) != ns:
            errs.append("involvedObject.namespace: Invalid value: does not match event.namespace")
        for f in ("kind", "name"):
            if not inv.get(f):
                errs.append("involvedObject.%s: Required value" % f)
        if not ev.get("reason"):
            errs.append("reason: Required value")
        if ev.get("type") not in ("Normal", "Warning"):
            errs.append('type: Unsupported value: "%s": supported values: "Normal", "Warning"'
                        % ev.get("type"))
        if errs:
            self.send_status(422, "Invalid", 'Event "%s" is invalid: %s'
                             % (md.get("name", ""), "; ".join(errs)))
            return
        with st.lock:
            name = md.get("name") or md["generateName"] + uuid.uuid4().hex[:5]
            if any(e["metadata"]["namespace"] == ns and e["metadata"]["name"] == name
                   for e in st.events):
                self.send_status(409, "AlreadyExists", 'events "%s" already exists' % name,
                                 {"name": name, "kind": "events"})
                return
            md.update({"name": name, "namespace": ns, "uid": str(uuid.uuid4()),
                       "resourceVersion": str(st.bump()), "creationTimestamp": now_rfc3339()})
            ev["metadata"] = md
            st.events.append(ev)
        self.send_json(201, ev)


class Control(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    store = None

    def log_message(self, fmt, *args):
        pass

    def reply(self, code, obj):
        body = (json.dumps(obj) + "\n").encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def body(self):
        n = int(self.headers.get("Content-Length") or 0)
        return json.loads(self.rfile.read(n)) if n else {}

    def do_GET(self):
        st = self.store
        with st.lock:
            if self.path == "/requests":
                self.reply(200, st.requests)
            elif self.path == "/events":
                self.reply(200, st.events)
            elif self.path == "/state":
                self.reply(200, {"resourceVersion": st.rv, "compacted": st.compacted,
                                 "pods": list(st.pods.values()), "openWatches": st.open_watches,
                                 "rulesUsed": sorted(st.rules_used), "cfg": st.cfg})
            else:
                self.reply(404, {"error": "no such control path"})

    def do_POST(self):
        st = self.store
        b = self.body()
        if self.path == "/pods":
            self.reply(200, st.put_pod(b["namespace"], b["name"], b["node"], b.get("uid")))
        elif self.path == "/tokens":
            with st.lock:
                st.tokens = set(b["valid"])
            self.reply(200, {})
        elif self.path == "/config":
            with st.lock:
                st.cfg.update(b)
                st.lock.notify_all()
            self.reply(200, st.cfg)
        elif self.path == "/compact":
            st.compact()
            self.reply(200, {"compacted": st.compacted})
        elif self.path == "/expire-watches":
            with st.lock:
                st.expire_gen += 1
                st.compacted = st.rv
                st.history = []
                st.lock.notify_all()
            self.reply(200, {})
        else:
            self.reply(404, {"error": "no such control path"})

    def do_DELETE(self):
        parts = self.path.strip("/").split("/")
        if len(parts) == 3 and parts[0] == "pods":
            pod = self.store.delete_pod(parts[1], parts[2])
            self.reply(200 if pod else 404, pod or {"error": "no such pod"})
        else:
            self.reply(404, {"error": "no such control path"})


def main():
    ap = argparse.ArgumentParser(description="kube-apiserver stand-in for kbnet tests")
    ap.add_argument("--ready-file", required=True)
    ap.add_argument("--tls-cert")
    ap.add_argument("--tls-key")
    ap.add_argument("--token", action="append", default=[])
    ap.add_argument("--rbac", help="ClusterRole as JSON: its rules are enforced")
    ap.add_argument("--port", type=int, default=0,
                    help="API port (0: any free one); a restarted stand-in can take its old one")
    a = ap.parse_args()
    rbac = None
    if a.rbac:
        with open(a.rbac) as f:
            rbac = json.load(f)["rules"]
    store = Store(a.token, rbac)
    api_handler = type("ApiHandler", (Handler,), {"store": store})
    ctl_handler = type("CtlHandler", (Control,), {"store": store})
    api = ThreadingHTTPServer(("127.0.0.1", a.port), api_handler)
    api.daemon_threads = True
    if a.tls_cert:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(a.tls_cert, a.tls_key)
        api.socket = ctx.wrap_socket(api.socket, server_side=True)
    ctl = ThreadingHTTPServer(("127.0.0.1", 0), ctl_handler)
    ctl.daemon_threads = True
    threading.Thread(target=ctl.serve_forever, daemon=True).start()
    tmp = a.ready_file + ".tmp"
    with open(tmp, "w") as f:
        json.dump({"port": api.server_address[1], "controlPort": ctl.server_address[1],
                   "pid": os.getpid()}, f)
    os.rename(tmp, a.ready_file)
    api.serve_forever()


if __name__ == "__main__":
    main()
