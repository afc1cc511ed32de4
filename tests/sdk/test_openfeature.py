"""``liftlab.sdk.openfeature`` with openfeature-sdk, and with Flagsmith's SDK in offline mode
(a local environment document holding a multivariate flag) behind openfeature_flagsmith,
against a running ``liftlab serve``: results count exactly the variants the flags served."""

from __future__ import annotations

import json
import socket
import time
import uuid
from collections.abc import Iterator

import pytest
from flagsmith import Flagsmith
from flagsmith.offline_handlers import LocalFileHandler
from openfeature import api
from openfeature.evaluation_context import EvaluationContext
from openfeature.flag_evaluation import FlagResolutionDetails, Reason
from openfeature.provider.in_memory_provider import InMemoryFlag, InMemoryProvider
from openfeature.track import TrackingEventDetails
from openfeature_flagsmith.provider import FlagsmithProvider
from tests.sources.experiments import (
    VARIANTS,
    User,
    _post,
    counted,
    expected,
    running_experiment,
    workload,
)

from liftlab.sdk import Client, RetryPolicy
from liftlab.sdk.openfeature import ExperimentFlags, TrackingProvider


@pytest.fixture
def domain() -> Iterator[str]:
    """An OpenFeature domain of the test's own; its providers are shut down after it."""
    yield f"test-{uuid.uuid4().hex[:8]}"
    api.shutdown()
    api.clear_providers()


def by_workload(users: list[User]):
    """An in-memory flag's evaluator that serves each user the variant the workload gave."""
    variants = {user.identifier: user.variant for user in users}

    def evaluate(flag: InMemoryFlag, context: EvaluationContext) -> FlagResolutionDetails:
        variant = variants.get(context.targeting_key, flag.default_variant)
        return FlagResolutionDetails(flag.variants[variant], reason=Reason.SPLIT, variant=variant)

    return evaluate


def evaluate_and_buy(domain: str, flag: str, users: list[User], evaluations: int = 3) -> list[User]:
    """Each user evaluates ``flag`` ``evaluations`` times, then tracks their purchases; the
    users as served (with the variant each evaluation returned)."""
    flags = api.get_client(domain)
    served = []
    for user in users:
        context = EvaluationContext(user.identifier, {"plan": "pro"})
        details = [flags.get_string_details(flag, "off", context) for _ in range(evaluations)]
        assert {d.variant for d in details} == {details[0].variant} and not details[0].error_code
        served.append(User(user.identifier, details[0].variant, user.purchases))
        for value in user.purchases:
            flags.track(
                "purchase", context, TrackingEventDetails(value=value, attributes={"sku": "a"})
            )
    return served


@pytest.mark.parametrize("exposure_event", [None, "checkout_viewed"])
def test_the_hook_and_track_through_any_provider(server, domain, exposure_event):
    # Which flags have an experiment, and their exposure event, the server says.
    fields = {"exposure_event": exposure_event} if exposure_event else {}
    running, users = running_experiment(server, **fields), workload(40)
    other_flag = InMemoryFlag("on", {"on": "yes", "off": "no"})
    inner = InMemoryProvider(
        {
            running.flag: InMemoryFlag(
                "control", {v: v for v in VARIANTS}, context_evaluator=by_workload(users)
            ),
            "no-experiment": other_flag,
        }
    )
    client = Client(running.secret, server.base, batch_size=20, flush_interval=0.05)
    api.set_provider(TrackingProvider(inner, client), domain)
    served = evaluate_and_buy(domain, running.flag, users)
    flags = api.get_client(domain)
    flags.get_string_value("no-experiment", "off", EvaluationContext("user-0"))  # not recorded
    flags.get_string_value("missing", "off", EvaluationContext("user-0"))  # an error: not either
    assert client.close()
    purchases = sum(len(user.purchases) for user in users)
    # One exposure per user despite three evaluations each, and one event per purchase.
    assert client.tally.accepted == len(users) + purchases and client.tally.duplicates == 0
    assert counted(running) == expected(served) == expected(users)
    assert inner._tracking_events["purchase"].value is not None  # passed on to the provider too


def test_a_new_experiment_on_the_same_flag_gets_its_own_exposures(server, domain):
    """The hook remembers what it sent per experiment: once a flag's experiment is completed
    and another starts on it, an identity seen before is exposed again, for the new one."""
    first = running_experiment(server)
    client = Client(first.secret, server.base, batch_size=1, flush_interval=0.05)
    flags = ExperimentFlags(client, refresh=0.1)
    inner = InMemoryProvider({first.flag: InMemoryFlag("control", {v: v for v in VARIANTS})})
    api.set_provider(TrackingProvider(inner, client, flags=flags), domain)

    def evaluate_twice() -> None:
        for _ in range(2):
            api.get_client(domain).get_string_value(first.flag, "off", EvaluationContext("u1"))

    evaluate_twice()
    _post(server, f"{first.root}/experiments/{first.experiment}/complete/")
    second = _post(
        server,
        f"{first.root}/experiments/",
        {
            "name": "the same flag again",
            "feature_name": first.flag,
            "variants": [{"key": key, "weight": 0.5} for key in VARIANTS],
            "control_variant": VARIANTS[0],
        },
    )
    _post(server, f"{first.root}/experiments/{second['id']}/start/")
    deadline = time.monotonic() + 30
    while (known := flags.experiment(first.flag)) is None or known.experiment != second["id"]:
        assert time.monotonic() < deadline, "the hook never learned of the second experiment"
        time.sleep(0.05)
    evaluate_twice()
    assert client.close()
    assert client.tally.accepted == 2  # one exposure per experiment


FLAGSMITH_DOCUMENT = {
    "api_key": "ser.offline-test",
    "name": "offline",
    "project": {"segments": []},
    "identity_overrides": [],
    "feature_states": [
        {
            "django_id": 1,
            "feature": {"id": 1, "name": "FLAG", "type": "MULTIVARIATE"},
            "enabled": True,
            "feature_state_value": "the current checkout",
            "multivariate_feature_state_values": [
                {
                    "id": 10,
                    "percentage_allocation": 50,
                    "multivariate_feature_option": {"key": "treatment", "value": "one click"},
                }
            ],
        }
    ],
}


def test_flagsmith_offline_behind_openfeature(server, domain, tmp_path):
    running, users = running_experiment(server), workload(60, prefix="fs")
    document = json.dumps(FLAGSMITH_DOCUMENT).replace('"FLAG"', json.dumps(running.flag))
    (tmp_path / "environment.json").write_text(document)
    flagsmith = Flagsmith(
        offline_mode=True, offline_handler=LocalFileHandler(str(tmp_path / "environment.json"))
    )
    client = Client(running.secret, server.base, batch_size=20, flush_interval=0.05)
    api.set_provider(
        TrackingProvider(FlagsmithProvider(flagsmith), client, flags={running.flag}), domain
    )
    served = evaluate_and_buy(domain, running.flag, users)
    assert client.close()
    assert {user.variant for user in served} == set(VARIANTS)  # Flagsmith split them
    assert counted(running) == expected(served)


def test_what_the_hook_records(serve, domain):
    recorder = serve()
    client = Client("ll_ik_k", recorder.url, batch_size=100)
    provider = InMemoryProvider(
        {
            "beta": InMemoryFlag("on", {"on": True, "off": False}),
            "paused": InMemoryFlag(
                "on",
                {"on": True},
                context_evaluator=lambda flag, context: FlagResolutionDetails(
                    False, reason=Reason.DISABLED
                ),
            ),
        }
    )
    # Variants are named by the provider; a provider that names none gets the value's text.
    unnamed = type(
        "Unnamed",
        (InMemoryProvider,),
        {
            "resolve_boolean_details": lambda self, key, default, context=None: (
                FlagResolutionDetails(True, reason=Reason.TARGETING_MATCH)
            )
        },
    )({})
    every = lambda flag: True  # noqa: E731 - the flags that have an experiment: all here
    api.set_provider(TrackingProvider(provider, client, flags=every), domain)
    api.set_provider(TrackingProvider(unnamed, client, flags=every), domain + "-unnamed")
    for user in ("a", "b", "a"):
        api.get_client(domain).get_boolean_value("beta", False, EvaluationContext(user))
        api.get_client(domain).get_boolean_value("paused", False, EvaluationContext(user))
    api.get_client(domain).get_boolean_value("beta", False, EvaluationContext())  # nobody
    api.get_client(domain + "-unnamed").get_boolean_value("gamma", False, EvaluationContext("c"))
    assert client.close()
    [batch] = [json.loads(body) for _, _, body in recorder.posts]
    assert [(e["identifier"], e["feature_name"], e["value"]) for e in batch] == [
        ("a", "beta", "on"),
        ("b", "beta", "on"),
        ("c", "gamma", "true"),
    ]


def test_while_the_server_does_not_answer_no_evaluation_waits_long(domain):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        nowhere = f"http://127.0.0.1:{probe.getsockname()[1]}"
    client = Client("ll_ik_k", nowhere, retry=RetryPolicy(attempts=1))
    flags = ExperimentFlags(client, first_wait=0.3)
    api.set_provider(TrackingProvider(InMemoryProvider({}), client, flags=flags), domain)
    began = time.monotonic()
    for user in range(20):
        api.get_client(domain).get_boolean_value("beta", False, EvaluationContext(f"u{user}"))
    assert time.monotonic() - began < 20 * 0.3  # not every evaluation waited first_wait
    assert client.tally.accepted == 0 and client.close(timeout=5)


def test_a_failing_exposure_never_changes_the_value_served(domain):
    def broken(flag: str) -> bool:
        raise RuntimeError("the predicate failed")

    client = Client("ll_ik_k", "http://127.0.0.1:9")
    provider = InMemoryProvider({"beta": InMemoryFlag("on", {"on": True, "off": False})})
    api.set_provider(TrackingProvider(provider, client, flags=broken), domain)
    details = api.get_client(domain).get_boolean_details("beta", False, EvaluationContext("u"))
    assert (details.value, details.error_code) == (True, None)
    client.close(timeout=1, drain=False)
