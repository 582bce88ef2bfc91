#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Check Kubernetes objects (a JSON array, as `helm-render ... -o json` prints) against the
Kubernetes API schema available offline: the models of Debian's python3-kubernetes, generated
from the Kubernetes OpenAPI specification. For each object of a known kind it reports
  - fields the schema does not have (a typo such as `readinessProbes` is silently dropped by
    a real API server with a warning, and the setting is lost),
  - values of the wrong type (a number where a string is required, e.g. a label value),
  - required fields that are missing (the models' client-side validation),
  - names and label values the API server would refuse (DNS-1123, label syntax).
NetworkAttachmentDefinition (Multus CRD, not in the core schema) is checked against the CRD's
published structure: spec.config is a string holding the CNI JSON configuration.

usage: k8s_schema_check.py OBJECTS.json
"""
import json
import re
import sys

import kubernetes.client as kc

KINDS = {
    ("v1", "Namespace"): "V1Namespace",
    ("v1", "ServiceAccount"): "V1ServiceAccount",
    ("v1", "ConfigMap"): "V1ConfigMap",
    ("v1", "Pod"): "V1Pod",
    ("v1", "Service"): "V1Service",
    ("v1", "ResourceQuota"): "V1ResourceQuota",
    ("apps/v1", "DaemonSet"): "V1DaemonSet",
    ("rbac.authorization.k8s.io/v1", "ClusterRole"): "V1ClusterRole",
    ("rbac.authorization.k8s.io/v1", "ClusterRoleBinding"): "V1ClusterRoleBinding",
    ("rbac.authorization.k8s.io/v1", "Role"): "V1Role",
    ("rbac.authorization.k8s.io/v1", "RoleBinding"): "V1RoleBinding",
}
DNS1123_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
DNS1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")
QUALIFIED_NAME = re.compile(r"^([a-z0-9.-]+/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$")

errors = []


def err(path, msg):
    errors.append("%s: %s" % (path, msg))


def check_value(v, typ, path):
    """Walk v against the swagger type string of the python models."""
    if typ == "object":  # IntOrString, RawExtension: anything
        return
    if typ == "str":
        if not isinstance(v, str):
            err(path, "must be a string, not %s" % type(v).__name__)
        return
    if typ == "int":
        if not isinstance(v, int) or isinstance(v, bool):
            err(path, "must be an integer, not %s" % type(v).__name__)
        return
    if typ == "bool":
        if not isinstance(v, bool):
            err(path, "must be a boolean, not %s" % type(v).__name__)
        return
    if typ in ("float",):
        if not isinstance(v, (int, float)) or isinstance(v, bool):
            err(path, "must be a number")
        return
    if typ in ("datetime", "date"):
        if not isinstance(v, str):
            err(path, "must be a timestamp string")
        return
    m = re.match(r"^list\[(.*)\]$", typ)
    if m:
        if not isinstance(v, list):
            err(path, "must be a list")
            return
        for i, item in enumerate(v):
            check_value(item, m.group(1), "%s[%d]" % (path, i))
        return
    m = re.match(r"^dict\(str, (.*)\)$", typ)
    if m:
        if not isinstance(v, dict):
            err(path, "must be a map")
            return
        inner = m.group(1)
        # Resource quantities may be written as numbers (resource.Quantity accepts both).
        quantity = path.endswith(".limits") or path.endswith(".requests")
        for k, item in v.items():
            if quantity and isinstance(item, (int, float)) and not isinstance(item, bool):
                continue
            check_value(item, inner, "%s.%s" % (path, k))
        return
    cls = getattr(kc, typ, None)
    if cls is None:
        err(path, "unknown schema type %s" % typ)
        return
    if not isinstance(v, dict):
        err(path, "must be an object (%s)" % typ)
        return
    by_json = {j: a for a, j in cls.attribute_map.items()}
    for k, item in v.items():
        if k not in by_json:
            err(path, "unknown field %r (%s has: %s)" % (k, typ, ", ".join(sorted(by_json))))
            continue
        check_value(item, cls.openapi_types[by_json[k]], "%s.%s" % (path, k))


def check_meta(obj, path, namespaced):
    md = obj.get("metadata") or {}
    name = md.get("name", "")
    if not DNS1123_SUBDOMAIN.match(name) or len(name) > 253:
        err(path + ".metadata.name", "%r is not a DNS-1123 subdomain" % name)
    if namespaced and not DNS1123_LABEL.match(md.get("namespace", "")):
        err(path + ".metadata.namespace", "missing or not a DNS-1123 label")
    for what in ("labels",):
        for k, v in (md.get(what) or {}).items():
            if not QUALIFIED_NAME.match(k):
                err(path + ".metadata.%s" % what, "bad key %r" % k)
            if not isinstance(v, str) or len(v) > 63 or not LABEL_VALUE.match(v):
                err(path + ".metadata.%s.%s" % (what, k), "bad label value %r" % (v,))
    for k, v in (md.get("annotations") or {}).items():
        if not QUALIFIED_NAME.match(k):
            err(path + ".metadata.annotations", "bad key %r" % k)
        if not isinstance(v, str):
            err(path + ".metadata.annotations.%s" % k, "must be a string")


def check_nad(obj, path):
    allowed = {"apiVersion", "kind", "metadata", "spec"}
    for k in obj:
        if k not in allowed:
            err(path, "unknown field %r" % k)
    check_value(obj.get("metadata", {}), "V1ObjectMeta", path + ".metadata")
    check_meta(obj, path, True)
    spec = obj.get("spec") or {}
    for k in spec:
        if k != "config":
            err(path + ".spec", "unknown field %r (the CRD has only config)" % k)
    cfg = spec.get("config")
    if not isinstance(cfg, str):
        err(path + ".spec.config", "must be a string holding the CNI configuration")
        return
    try:
        c = json.loads(cfg)
    except ValueError as e:
        err(path + ".spec.config", "not JSON: %s" % e)
        return
    for k in ("cniVersion", "type"):
        if not isinstance(c.get(k), str):
            err(path + ".spec.config", "%s missing" % k)
    rn = (obj.get("metadata", {}).get("annotations") or {}).get("k8s.v1.cni.cncf.io/resourceName")
    if rn is not None and not QUALIFIED_NAME.match(rn):
        err(path + ".metadata.annotations", "resourceName %r is not <prefix>/<name>" % rn)


# prometheus-operator CRDs (not in the core schema): the fields of the published
# monitoring.coreos.com/v1 PodMonitor/ServiceMonitor specs that charts commonly set.
MONITORING = {("monitoring.coreos.com/v1", "PodMonitor"), ("monitoring.coreos.com/v1", "ServiceMonitor")}
MON_SPEC = {
    "PodMonitor": ({"selector", "namespaceSelector", "podMetricsEndpoints", "jobLabel", "podTargetLabels",
                    "sampleLimit"}, "podMetricsEndpoints"),
    "ServiceMonitor": ({"selector", "namespaceSelector", "endpoints", "jobLabel", "targetLabels",
                        "podTargetLabels", "sampleLimit"}, "endpoints"),
}
MON_ENDPOINT = {"port", "targetPort", "path", "scheme", "interval", "scrapeTimeout", "honorLabels",
                "honorTimestamps", "relabelings", "metricRelabelings", "params"}
DURATION = re.compile(r"^(0|(([0-9]+)y)?(([0-9]+)w)?(([0-9]+)d)?(([0-9]+)h)?(([0-9]+)m)?(([0-9]+)s)?(([0-9]+)ms)?)$")


def check_monitor(o, path, kind):
    check_meta(o, path, True)
    allowed, eps = MON_SPEC[kind]
    spec = o.get("spec")
    if not isinstance(spec, dict):
        err(path, "spec must be an object")
        return
    for k in spec:
        if k not in allowed:
            err(path + ".spec", "unknown field %r" % k)
    sel = spec.get("selector")
    if not isinstance(sel, dict) or not isinstance(sel.get("matchLabels", {}), dict):
        err(path + ".spec.selector", "must be a label selector")
    if not isinstance(spec.get(eps), list) or not spec.get(eps):
        err(path + ".spec." + eps, "must be a non-empty list")
        return
    for i, ep in enumerate(spec[eps]):
        p = "%s.spec.%s[%d]" % (path, eps, i)
        for k, v in ep.items():
            if k not in MON_ENDPOINT:
                err(p, "unknown field %r" % k)
            elif k in ("interval", "scrapeTimeout") and not (isinstance(v, str) and DURATION.match(v)):
                err(p + "." + k, "not a Prometheus duration: %r" % v)
            elif k in ("port", "path") and not isinstance(v, str):
                err(p + "." + k, "must be a string")


def main():
    objs = json.load(open(sys.argv[1]))
    if not isinstance(objs, list) or not objs:
        print("no objects", file=sys.stderr)
        return 1
    api = kc.ApiClient()
    for i, o in enumerate(objs):
        path = "%s/%s" % (o.get("kind"), (o.get("metadata") or {}).get("name"))
        key = (o.get("apiVersion"), o.get("kind"))
        if key == ("k8s.cni.cncf.io/v1", "NetworkAttachmentDefinition"):
            check_nad(o, path)
            continue
        if key in MONITORING:
            check_monitor(o, path, key[1])
            continue
        if key not in KINDS:
            err(path, "no schema for %s %s" % key)
            continue
        model = KINDS[key]
        check_value(o, model, path)
        namespaced = key[1] not in ("Namespace", "ClusterRole", "ClusterRoleBinding")
        check_meta(o, path, namespaced)
        try:  # required fields, enums: the models' own validation
            api._ApiClient__deserialize(o, model)
        except (ValueError, TypeError) as e:
            err(path, str(e))
    for e in errors:
        print("schema: " + e)
    print("%d objects checked, %d problems" % (len(objs), len(errors)))
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
