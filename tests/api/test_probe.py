import json
import pytest
from . import paths
from .bodies import experiment_body, metric_body


def test_probe(admin, environment, create_metric, create_experiment, transition, viewer, anonymous, outsider):
    k = environment.key
    for name in ["\ud800", "a\x00b", "x" * 201]:
        r = admin.post(paths.metrics(k), json.dumps(metric_body(name=name)), content_type="application/json")
        print(repr(name[:5]), r.status_code, r.content[:200])
    r = admin.post(paths.metrics(k), json.dumps(metric_body(definition={"version": 1, "event": "\ud800"})), content_type="application/json")
    print("def surrogate", r.status_code, r.content[:200])
    r = admin.post(paths.members(k), {"username": "a\x00b", "role": "viewer"}, format="json")
    print("member nul", r.status_code, r.content[:200])
    r = admin.get(paths.environment("a\x00b"))
    print("env nul", r.status_code, r.content[:200])
    r = admin.get(paths.members(k, "a\x00b"))
    print("member url nul", r.status_code, r.content[:200])
    a = create_experiment(feature_name="f")
    transition(a["id"], "start", "complete")
    b = create_experiment(feature_name="f")
    r = admin.patch(paths.experiments(k, a["id"]), {"name": "renamed"}, format="json")
    print("patch completed", r.status_code, r.content[:200])
    r = anonymous.get(paths.experiments(k))
    print("anon", r.status_code, r.content[:200], r.headers.get("WWW-Authenticate"))
    r = admin.get("/api/v1/nope/")
    print("unknown", r.status_code, r["Content-Type"], r.content[:200])
    r = admin.get(paths.experiments(k, "abc"))
    print("nonnum", r.status_code, r["Content-Type"], r.content[:200])
    r = admin.get(paths.audit_log(k) + "?page=abc")
    print("page", r.status_code, r.content[:200])
    r = admin.get(paths.SCHEMA + "?format=json")
    print("schema", r.status_code, r["Content-Type"])
