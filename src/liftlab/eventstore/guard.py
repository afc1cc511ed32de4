"""Whether embedded chDB still writes where it will read after a restart.

chDB keeps a table's metadata and its parts under the data folder. If that folder is removed
(or replaced) while the process runs, the engine keeps the table in memory and may recreate
directories as it writes: inserts still succeed, queries still answer, and after a restart
none of it exists. So the store remembers, when it opens the table, the identity (device and
inode) of the folder, of the table's data directory and of its metadata file (for the file,
its change time too: a removed and recreated entry may get the same inode number back), and
checks them before every statement and after every insert: a few ``stat`` calls,
microseconds. A changed or missing one makes every call fail with ``MISSING`` until the
service is restarted; the engine's in-memory table is never trusted again, since what it
accepted cannot be found on disk. (The engine writes the metadata file only for DDL; the
store looks again after each of its own.)
"""

from __future__ import annotations

import logging
import os
import stat
from collections.abc import Sequence

from liftlab.eventstore.errors import MISSING, EventStoreError

logger = logging.getLogger(__name__)


class FolderGuard:
    """The on-disk identity of a chDB table; ``check`` raises once it has changed."""

    def __init__(self) -> None:
        self._identities: dict[str, tuple[int, ...]] = {}
        self._lost = ""

    def watch(self, paths: Sequence[str]) -> None:
        """Remember these paths as they are now (after the table was created or changed)."""
        if self._lost:
            return
        identities = {}
        for path in paths:
            try:
                status = os.stat(path)
            except OSError as exc:
                self._lose(f"{path} cannot be read ({exc.strerror})")
                return
            identities[path] = _identity(status)
        self._identities = identities

    def check(self) -> None:
        """Raise EventStoreError (reason ``MISSING``) if any watched path is gone or replaced."""
        if not self._lost:
            for path, identity in self._identities.items():
                try:
                    status = os.stat(path)
                except OSError:
                    self._lose(f"{path} is missing")
                    break
                if _identity(status) != identity:
                    self._lose(f"{path} was replaced")
                    break
        if self._lost:
            raise EventStoreError(
                f"the event store's data folder changed while it was open: {self._lost}; "
                "events written since then would not be found after a restart. Restore the "
                "folder or restart the service.",
                MISSING,
            )

    def _lose(self, what: str) -> None:
        self._lost = what
        logger.error("event store: %s; refusing every statement until restart", what)


def _identity(status: os.stat_result) -> tuple[int, ...]:
    """Device and inode; for a file also its change time (directories change with each part)."""
    if stat.S_ISDIR(status.st_mode):
        return (status.st_dev, status.st_ino)
    return (status.st_dev, status.st_ino, status.st_ctime_ns)


def table_paths(root: str, database: str, table: str, data_paths: Sequence[str]) -> list[str]:
    """The folder, the table's data directories and its metadata file (where chDB keeps it)."""
    metadata = os.path.realpath(os.path.join(root, "metadata", database, f"{table}.sql"))
    paths = [root, *(path.rstrip("/") for path in data_paths)]
    if os.path.exists(metadata):
        paths.append(metadata)
    return paths
