"""The served ``liftlab serve`` and the cutting proxy of tests/sources, for the SDK's tests."""

from tests.simulate.conftest import serve  # noqa: F401  (fixture, by name: a recording server)
from tests.sources.conftest import proxy, server  # noqa: F401  (fixtures, by name)
