"""Dictionaries of a restored analysis whose values come in on first use.

A process continuing a saved analysis (:mod:`graphlive.analysis_cache`) needs the facts and the
written output of the few files its update touches, not of all of them. :class:`LazyMap` is a
``dict`` whose pending keys are known but whose values are fetched when first read (a pass over
the whole map fetches them all); :class:`PackedOutputs` pickles a ``dict`` as one pickle per
value, so that the restored map unpickles only the values read.

Callers use them as plain dicts: membership and length count pending keys, reads fetch,
writes and deletions drop the pending entry.
"""

from __future__ import annotations

import pickle
from collections.abc import Callable, Iterator
from typing import Any, Generic, TypeVar

from graphlive.analysis.blobs import Blob, pickled

__all__ = ["LazyMap", "PackedOutputs"]

K = TypeVar("K")
V = TypeVar("V")


class LazyMap(dict[K, V], Generic[K, V]):
    """A dict with keys whose values ``fetch(key, token)`` gives when first read."""

    def __init__(self, pending: dict[K, Any], fetch: Callable[[K, Any], V]) -> None:
        super().__init__()
        self._pending = pending
        self._fetch = fetch

    def _load(self, key: K) -> bool:
        if key not in self._pending:
            return False
        token = self._pending.pop(key)
        dict.__setitem__(self, key, self._fetch(key, token))
        return True

    def is_pending(self, key: K) -> bool:
        """Whether ``key`` has a value not fetched yet."""
        return key in self._pending

    def load_all(self) -> None:
        for key in list(self._pending):
            self._load(key)

    def __missing__(self, key: K) -> V:
        if self._load(key):
            return dict.__getitem__(self, key)
        raise KeyError(key)

    def get(self, key: K, default: Any = None) -> Any:
        if dict.__contains__(self, key) or self._load(key):
            return dict.__getitem__(self, key)
        return default

    def __contains__(self, key: object) -> bool:
        return dict.__contains__(self, key) or key in self._pending

    def __setitem__(self, key: K, value: V) -> None:
        self._pending.pop(key, None)
        dict.__setitem__(self, key, value)

    def __delitem__(self, key: K) -> None:
        if self._pending.pop(key, None) is not None and not dict.__contains__(self, key):
            return
        dict.__delitem__(self, key)

    def pop(self, key: K, *default: Any) -> Any:
        self._load(key)
        return dict.pop(self, key, *default)

    def setdefault(self, key: K, default: Any = None) -> Any:
        self._load(key)
        return dict.setdefault(self, key, default)

    def __len__(self) -> int:
        return dict.__len__(self) + len(self._pending)

    def __bool__(self) -> bool:
        return len(self) > 0

    def __iter__(self) -> Iterator[K]:
        self.load_all()
        return dict.__iter__(self)

    def keys(self) -> Any:
        self.load_all()
        return dict.keys(self)

    def values(self) -> Any:
        self.load_all()
        return dict.values(self)

    def items(self) -> Any:
        self.load_all()
        return dict.items(self)

    def __eq__(self, other: object) -> bool:
        self.load_all()
        return dict.__eq__(self, other)

    __hash__ = None

    def __reduce__(self) -> Any:
        self.load_all()
        return (dict, (dict(self),))


class PackedOutputs:
    """A dict pickled as one pickle per value; :meth:`restored` gives a :class:`LazyMap` that
    unpickles a value when it is first read."""

    __slots__ = ("blobs", "data")

    def __init__(self, data: dict[str, Any]) -> None:
        self.data = data
        self.blobs: dict[str, Blob] = {}

    def __getstate__(self) -> dict[str, Blob]:
        return {key: pickled(value) for key, value in self.data.items()}

    def __setstate__(self, state: dict[str, Blob]) -> None:
        self.data = {}
        self.blobs = state

    def restored(self) -> LazyMap[str, Any]:
        return LazyMap(dict(self.blobs), lambda _key, blob: pickle.loads(blob.read()))
