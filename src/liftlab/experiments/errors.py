"""The experiments' refusals, in their own terms: no HTTP, no DRF.

The services (and the results) raise these; each caller says them its own way: the API's
exception handler (``liftlab.api.exceptions``) answers 400 naming the field for a ``Refused``
and 409 for a ``Conflict``, the pages show the message, the CLI prints it.
"""

from __future__ import annotations


class ExperimentError(Exception):
    """Base of every refusal below."""


class Refused(ExperimentError):
    """Not allowed in the current state, with the field at fault: ``{field: message}``."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message

    @property
    def detail(self) -> dict[str, str]:
        """The field and its message, as an API error body names them."""
        return {self.field: self.message}


class InvalidTransition(Refused):
    """A lifecycle action from a status that does not allow it (the current status named)."""

    def __init__(self, action: str, status: str) -> None:
        super().__init__("status", f"cannot {action} an experiment that is {status}.")
        self.action = action
        self.status = status


class NotStarted(Refused):
    """Results asked of a draft: they exist once the experiment runs."""

    def __init__(
        self, message: str = "the experiment has not started; results exist once it runs."
    ) -> None:
        super().__init__("status", message)


class Conflict(ExperimentError):
    """Valid, but the current state forbids it (e.g. deleting a metric still in use)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ChangedConcurrently(Conflict):
    """A lifecycle action that lost a race, or that repeats one already taken: the experiment
    is already where the action leads, or changed while the action waited for it."""

    def __init__(self, action: str, status: str | None = None, *, already: bool = False) -> None:
        if already:
            message = f"the experiment is already {status}: nothing to {action}."
        elif status is not None:
            message = (
                f"the experiment changed concurrently (it is now {status}); "
                f"reload it before you {action} it."
            )
        else:
            message = f"the experiment changed concurrently; reload it before you {action} it."
        super().__init__(message)
        self.action = action
        self.status = status
