"""One registry type for adapters, datasets and stages: duplicates raise, unknown names suggest."""
from __future__ import annotations

from collections.abc import Iterator
from typing import Generic, TypeVar

from .errors import PipelineError, allowed_list, did_you_mean

T = TypeVar("T")


class DuplicateRegistration(RuntimeError):
    """Two things registered under one name: a programming error, not a user error."""


class Registry(Generic[T]):
    def __init__(self, what: str):
        self.what = what
        self._items: dict[str, T] = {}

    def register(self, name: str, item: T) -> T:
        if name in self._items:
            raise DuplicateRegistration(f"{self.what} '{name}' is already registered")
        self._items[name] = item
        return item

    def get(self, name: str) -> T:
        try:
            return self._items[name]
        except KeyError:
            raise PipelineError(
                f"unknown {self.what} '{name}'{did_you_mean(name, self._items)}"
                f" (known: {allowed_list(self._items)})"
            ) from None

    def names(self) -> list[str]:
        return sorted(self._items)

    def __contains__(self, name: object) -> bool:
        return name in self._items

    def __iter__(self) -> Iterator[str]:
        return iter(sorted(self._items))
