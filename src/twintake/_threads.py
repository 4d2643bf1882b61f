"""Small threading helpers to overlap decoding, compositing and encoding.

PyAV releases the GIL while it decodes and encodes, so running those in helper threads lets the
compositing (NumPy/OpenCV, which also release it) use the second core.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterable, Iterator
from typing import TypeVar

T = TypeVar("T")
_END = object()


def prefetch(items: Iterable[T], depth: int = 4) -> Iterator[T]:
    """Iterate ``items`` in a background thread, ``depth`` items ahead.

    Exceptions raised by the producer are re-raised in the consumer. Stopping early (break,
    exception, generator close) stops the producer at its next item.
    """
    q: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def run() -> None:
        try:
            for item in items:
                if stop.is_set():
                    return
                q.put(item)
            q.put(_END)
        except BaseException as e:  # noqa: BLE001 - handed to the consumer
            q.put(_Raise(e))

    th = threading.Thread(target=run, name="twintake-prefetch", daemon=True)
    th.start()
    try:
        while True:
            item = q.get()
            if item is _END:
                return
            if isinstance(item, _Raise):
                raise item.exc
            yield item
    finally:
        stop.set()
        while th.is_alive():
            try:
                q.get_nowait()
            except queue.Empty:
                th.join(timeout=0.05)


class _Raise:
    def __init__(self, exc: BaseException) -> None:
        self.exc = exc


class StreamWorker:
    """Runs ``consume(items)`` in one background thread, fed by :meth:`submit`.

    ``consume`` receives an iterator over the submitted items (ending after :meth:`finish`).
    ``submit`` blocks when ``depth`` items are pending; an exception raised by ``consume`` is
    re-raised by the next ``submit`` or by ``finish``.
    """

    def __init__(self, consume: Callable[[Iterator], None], depth: int = 4) -> None:
        self._consume = consume
        self._q: queue.Queue = queue.Queue(maxsize=depth)
        self._error: BaseException | None = None
        self._th = threading.Thread(target=self._run, name="twintake-worker", daemon=True)
        self._th.start()

    def _items(self) -> Iterator:
        while True:
            item = self._q.get()
            if item is _END:
                return
            yield item

    def _run(self) -> None:
        try:
            self._consume(self._items())
        except BaseException as e:  # noqa: BLE001 - handed to the producer
            self._error = e
            while self._q.get() is not _END:  # drain so the producer never blocks
                pass

    def submit(self, item) -> None:
        if self._error is not None:
            raise self._error
        self._q.put(item)

    def finish(self) -> None:
        """Signal the end, wait for ``consume`` to return; re-raise its error."""
        self._q.put(_END)
        self._th.join()
        if self._error is not None:
            raise self._error


class BackgroundWorker(StreamWorker):
    """Runs ``fn(item)`` for each submitted item, in order, in one background thread."""

    def __init__(self, fn: Callable[[object], None], depth: int = 4) -> None:
        def consume(items: Iterator) -> None:
            for item in items:
                fn(item)

        super().__init__(consume, depth)
