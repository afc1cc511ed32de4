import json
from . import paths
from .bodies import experiment_body, metric_body


def post(client, url, body):
    return client.post(url, json.dumps(body), content_type="application/json")


def test_probe(admin, environment):
    k = environment.key
    for d in [
        {"version": 1, "event": "e", "\ud800": 1},
        {"version": 1, "event": "e", "filters": [{"property": "p", "op": "eq", "value": "\ud800"}]},
        {"version": 1, "event": "e", "filters": [{"property": "p", "op": "in", "value": ["\ud800"]}]},
        {"version": 1, "event": "e", "filters": [{"property": "p", "op": "in", "value": ["a\x00"]}]},
    ]:
        r = post(admin, paths.metrics(k), metric_body(definition=d))
        print(r.status_code, r.content[:300])
