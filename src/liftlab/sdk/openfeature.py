"""OpenFeature for liftlab: exposures from flag evaluations, metric events from ``track()``.

    client = liftlab.sdk.Client("ll_ik_…", "https://liftlab.example.com")
    api.set_provider(TrackingProvider(FlagsmithProvider(flagsmith), client))
    flags = api.get_client()
    flags.get_string_value("checkout", "control", EvaluationContext("user-42"))  # an exposure
    flags.track("purchase", EvaluationContext("user-42"), TrackingEventDetails(value=42.0))

``ExposureHook`` records, after each successful evaluation of a flag that has an experiment,
an exposure of the context's targeting key to the variant it got: the provider's
``variant`` when it names one, else the value as text (``true``/``false`` for booleans).
Which flags have one, and under which exposure event, the server says
(``ExperimentFlags``, refreshed every minute), unless ``flags`` names them. Each identity,
flag and variant is sent once per process and experiment (the last ``remember`` of them are
kept: one sent again past that changes nothing, since assignment is by first exposure). The
experiment counts: when a flag's experiment ends and another starts on it, an identity already
exposed is exposed again, for the new one, whose results read only its own exposures.
``TrackingProvider`` wraps any provider: it resolves through it, adds the hook, and gives it
a ``track()`` that sends a metric event (the details' value as the event's value, its
attributes as properties) before passing the call on to the wrapped provider's own.

Needs ``openfeature-sdk`` (``pip install 'liftlab[openfeature]'``).
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from typing import Any

from openfeature.evaluation_context import EvaluationContext
from openfeature.event import ProviderEvent, ProviderEventDetails
from openfeature.flag_evaluation import FlagEvaluationDetails, FlagResolutionDetails, Reason
from openfeature.hook import Hook, HookContext, HookHints
from openfeature.provider import AbstractProvider, FeatureProvider, Metadata
from openfeature.track import TrackingEventDetails

from liftlab.sdk.client import Client, DeliveryError, FlagExperiment
from liftlab.vocabulary import EXPOSURE_EVENT

FLUSH_ON_SHUTDOWN_SECONDS = 10.0
log = logging.getLogger("liftlab.sdk")


class ExperimentFlags:
    """The flags that have an experiment, as the server says (``GET
    /api/v1/experiment-flags/``): asked at once, then every ``refresh`` seconds, by a daemon
    thread. No evaluation waits on the network but those in the first ``first_wait`` seconds,
    until the first answer; a failed refresh keeps the last answer (and is logged)."""

    def __init__(self, client: Client, refresh: float = 60.0, first_wait: float = 5.0) -> None:
        self.client = client
        self.refresh = refresh
        self.first_wait = first_wait
        self._flags: dict[str, FlagExperiment] = {}
        self._ready = threading.Event()  # the first request is over, answered or not
        self._until = time.monotonic() + first_wait
        self._stopped = threading.Event()
        threading.Thread(target=self._run, name="liftlab-flags", daemon=True).start()

    def experiment(self, flag: str) -> FlagExperiment | None:
        """``flag``'s experiment, or None if it has none."""
        if not self._ready.is_set():
            self._ready.wait(max(self._until - time.monotonic(), 0))
        return self._flags.get(flag)

    def close(self) -> None:
        self._stopped.set()

    def _run(self) -> None:
        while True:
            try:
                self._flags = self.client.experiment_flags()
            except DeliveryError as error:
                log.warning("the flags that have an experiment are unknown: %s", error)
            self._ready.set()
            if self._stopped.wait(self.refresh):
                return


Flags = Iterable[str] | Callable[[str], bool] | ExperimentFlags | None


# Flags named by the application rather than the server: their experiment is not known, so
# exposures are remembered as of this one (an experiment's id is never 0).
NAMED = FlagExperiment(0, EXPOSURE_EVENT)


def _experiments(
    flags: Iterable[str] | Callable[[str], bool] | ExperimentFlags,
) -> Callable[[str], FlagExperiment | None]:
    """A flag's experiment, or None for a flag without one."""
    if isinstance(flags, ExperimentFlags):
        return flags.experiment
    if callable(flags):
        chosen = flags
        return lambda flag: NAMED if chosen(flag) else None
    keys = frozenset(flags)
    return lambda flag: NAMED if flag in keys else None


def variant_of(details: FlagEvaluationDetails[Any]) -> str:
    """The variant an evaluation names, else its value as the experiment's variant key."""
    if details.variant is not None:
        return str(details.variant)
    if isinstance(details.value, bool):
        return "true" if details.value else "false"
    return str(details.value)


class ExposureHook(Hook):
    """Sends an exposure through ``client`` after each evaluation of a flag that has an
    experiment (``flags``: the server's list when None, else the keys or a predicate), did
    not fail, is not disabled and has a targeting key."""

    def __init__(self, client: Client, flags: Flags = None, remember: int = 100_000) -> None:
        self.client = client
        self.flags = flags if flags is not None else ExperimentFlags(client)
        self.experiment = _experiments(self.flags)
        self.remember = remember
        self._sent: OrderedDict[tuple[str, str, str, int], None] = OrderedDict()
        self._lock = threading.Lock()

    def after(
        self, hook_context: HookContext, details: FlagEvaluationDetails[Any], hints: HookHints
    ) -> None:
        # An after hook that raises makes OpenFeature serve the default value instead of the
        # one resolved: recording an exposure must never change what the application gets.
        try:
            self._record(hook_context, details)
        except Exception:
            log.exception("the exposure of %r was not recorded", hook_context.flag_key)

    def _record(self, hook_context: HookContext, details: FlagEvaluationDetails[Any]) -> None:
        flag = hook_context.flag_key
        identity = hook_context.evaluation_context.targeting_key
        if details.error_code is not None or details.reason == Reason.DISABLED:
            return  # the default value served: no variant of the experiment was seen
        experiment = self.experiment(flag) if identity else None
        if experiment is None:
            return
        seen = (identity, flag, variant_of(details), experiment.experiment)
        with self._lock:
            if seen in self._sent:
                self._sent.move_to_end(seen)
                return
            self._sent[seen] = None
            if len(self._sent) > self.remember:
                self._sent.popitem(last=False)
        if not self.client.expose(flag, seen[2], identity, event=experiment.exposure_event):
            with self._lock:  # dropped: the next evaluation tries again
                self._sent.pop(seen, None)


class TrackingProvider(AbstractProvider):
    """``provider`` with liftlab's exposures (``ExposureHook``) and ``track()`` added."""

    def __init__(self, provider: FeatureProvider, client: Client, *, flags: Flags = None) -> None:
        super().__init__()
        self.provider = provider
        self.client = client
        self.hook = ExposureHook(client, flags)

    def get_metadata(self) -> Metadata:
        return Metadata(name=f"liftlab({self.provider.get_metadata().name})")

    def get_provider_hooks(self) -> list[Hook]:
        return [*self.provider.get_provider_hooks(), self.hook]

    def initialize(self, evaluation_context: EvaluationContext) -> None:
        self.provider.initialize(evaluation_context)

    def shutdown(self) -> None:
        self.provider.shutdown()
        if isinstance(self.hook.flags, ExperimentFlags):
            self.hook.flags.close()
        self.client.flush(FLUSH_ON_SHUTDOWN_SECONDS)  # the client is the application's

    def attach(
        self,
        on_emit: Callable[[FeatureProvider, ProviderEvent, ProviderEventDetails], None],
    ) -> None:
        """The wrapped provider's events, as this provider's (the one registered)."""
        super().attach(on_emit)
        self.provider.attach(lambda _, event, details: on_emit(self, event, details))

    def detach(self) -> None:
        super().detach()
        self.provider.detach()

    def track(
        self,
        tracking_event_name: str,
        evaluation_context: EvaluationContext | None = None,
        tracking_event_details: TrackingEventDetails | None = None,
    ) -> None:
        identity = evaluation_context.targeting_key if evaluation_context else None
        if identity:
            details = tracking_event_details or TrackingEventDetails()
            try:  # track() raises into the application's code: nothing of ours may
                self.client.track(
                    tracking_event_name,
                    identity,
                    value=details.value,
                    properties=details.attributes,
                    traits=evaluation_context.attributes if evaluation_context else None,
                )
            except Exception:
                log.exception("the event %r was not recorded", tracking_event_name)
        self.provider.track(tracking_event_name, evaluation_context, tracking_event_details)

    def resolve_boolean_details(
        self,
        flag_key: str,
        default_value: bool,
        evaluation_context: EvaluationContext | None = None,
    ) -> FlagResolutionDetails[bool]:
        return self.provider.resolve_boolean_details(flag_key, default_value, evaluation_context)

    async def resolve_boolean_details_async(
        self,
        flag_key: str,
        default_value: bool,
        evaluation_context: EvaluationContext | None = None,
    ) -> FlagResolutionDetails[bool]:
        return await self.provider.resolve_boolean_details_async(
            flag_key, default_value, evaluation_context
        )

    def resolve_string_details(
        self, flag_key: str, default_value: str, evaluation_context: EvaluationContext | None = None
    ) -> FlagResolutionDetails[str]:
        return self.provider.resolve_string_details(flag_key, default_value, evaluation_context)

    async def resolve_string_details_async(
        self, flag_key: str, default_value: str, evaluation_context: EvaluationContext | None = None
    ) -> FlagResolutionDetails[str]:
        return await self.provider.resolve_string_details_async(
            flag_key, default_value, evaluation_context
        )

    def resolve_integer_details(
        self, flag_key: str, default_value: int, evaluation_context: EvaluationContext | None = None
    ) -> FlagResolutionDetails[int]:
        return self.provider.resolve_integer_details(flag_key, default_value, evaluation_context)

    async def resolve_integer_details_async(
        self, flag_key: str, default_value: int, evaluation_context: EvaluationContext | None = None
    ) -> FlagResolutionDetails[int]:
        return await self.provider.resolve_integer_details_async(
            flag_key, default_value, evaluation_context
        )

    def resolve_float_details(
        self,
        flag_key: str,
        default_value: float,
        evaluation_context: EvaluationContext | None = None,
    ) -> FlagResolutionDetails[float]:
        return self.provider.resolve_float_details(flag_key, default_value, evaluation_context)

    async def resolve_float_details_async(
        self,
        flag_key: str,
        default_value: float,
        evaluation_context: EvaluationContext | None = None,
    ) -> FlagResolutionDetails[float]:
        return await self.provider.resolve_float_details_async(
            flag_key, default_value, evaluation_context
        )

    def resolve_object_details(
        self, flag_key: str, default_value: Any, evaluation_context: EvaluationContext | None = None
    ) -> FlagResolutionDetails[Any]:
        return self.provider.resolve_object_details(flag_key, default_value, evaluation_context)

    async def resolve_object_details_async(
        self, flag_key: str, default_value: Any, evaluation_context: EvaluationContext | None = None
    ) -> FlagResolutionDetails[Any]:
        return await self.provider.resolve_object_details_async(
            flag_key, default_value, evaluation_context
        )
