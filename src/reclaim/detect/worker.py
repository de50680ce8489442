"""The checks in a helper process: a big sweep's analysis off the event loop's process.

The helper is ``python -m reclaim.detect.worker``: it imports the checks and nothing else (no CLI, no
client, no store, and not the caller's ``__main__``, which ``multiprocessing``'s spawn would run again),
then answers requests on its standard input and output, in order. Each message is 8 bytes of length
(big-endian) and a pickle: a request is ``(check ids, bundles)``, an answer ``[(owner, finding), ...]``.
A check that raises ends the helper; the caller then runs the checks itself (and meets the error there).
Pickle is safe here: both ends are this program, over a private pipe.

::

    process = await CheckProcess.start()
    findings = await process.run(bundles, ["mailbox-forwarding", ...])   # raises CheckProcessGone if it died
    await process.close()
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import os
import pickle
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import IO

from reclaim.detect.engine import findings_of
from reclaim.detect.evidence import EvidenceBundle
from reclaim.detect.model import Finding
from reclaim.detect.registry import Check, by_id

_HEADER = 8
#: the directory holding this ``reclaim`` package, first on the helper's path (a checkout run without install)
_ROOT = str(Path(__file__).resolve().parents[2])


def analyze_many(bundles: Sequence[EvidenceBundle], check_ids: Sequence[str]) -> list[tuple[str, Finding]]:
    """The given checks on each bundle, as (the bundle's mailbox owner, finding) in bundle order."""
    selected = _checks(tuple(check_ids))
    out: list[tuple[str, Finding]] = []
    for bundle in bundles:
        owner = bundle.mailbox_owner or ""
        out.extend((owner, f) for f in findings_of(bundle, selected=selected))
    return out


_CHOSEN: dict[tuple[str, ...], tuple[Check, ...]] = {}


def _checks(check_ids: tuple[str, ...]) -> tuple[Check, ...]:
    if check_ids not in _CHOSEN:
        _CHOSEN[check_ids] = tuple(by_id(i) for i in check_ids)
    return _CHOSEN[check_ids]


class CheckProcessGone(Exception):
    """The helper process ended or failed; the caller runs the checks itself."""


class CheckProcess:
    """One helper process; requests are answered in the order they were sent (several may be in flight)."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process
        self._pending: collections.deque[asyncio.Future[list[tuple[str, Finding]]]] = collections.deque()
        self._send = asyncio.Lock()
        self._gone: str | None = None
        self._reader = asyncio.ensure_future(self._read_answers())
        self._stderr: collections.deque[bytes] = collections.deque(maxlen=20)
        self._errors = asyncio.ensure_future(self._read_errors())

    @classmethod
    async def start(cls) -> CheckProcess:
        path = os.pathsep.join(p for p in (_ROOT, os.environ.get("PYTHONPATH", "")) if p)
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "reclaim.detect.worker", stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, env={**os.environ, "PYTHONPATH": path})
        return cls(process)

    async def run(self, bundles: Sequence[EvidenceBundle], check_ids: Sequence[str]) -> list[tuple[str, Finding]]:
        """The findings of ``check_ids`` on ``bundles``, computed in the helper."""
        data = pickle.dumps((tuple(check_ids), list(bundles)), protocol=pickle.HIGHEST_PROTOCOL)
        answer: asyncio.Future[list[tuple[str, Finding]]] = asyncio.get_running_loop().create_future()
        async with self._send:
            if self._gone is not None:
                raise CheckProcessGone(self._gone)
            stdin = self.process.stdin
            assert stdin is not None
            self._pending.append(answer)
            try:
                stdin.write(len(data).to_bytes(_HEADER, "big") + data)
                await stdin.drain()
            except (BrokenPipeError, ConnectionResetError) as exc:
                self._fail(f"the checks process stopped taking work ({exc})")
        return await answer

    async def _read_answers(self) -> None:
        stdout = self.process.stdout
        assert stdout is not None
        reason = "the checks process ended"
        try:
            while True:
                size = int.from_bytes(await stdout.readexactly(_HEADER), "big")
                data = await stdout.readexactly(size)
                try:
                    value = pickle.loads(data)  # noqa: S301 - our own helper, over a private pipe
                    answer = self._pending.popleft()
                except (pickle.UnpicklingError, EOFError, AttributeError, ImportError, ValueError, IndexError) as exc:
                    reason = f"the checks process gave an unreadable answer ({type(exc).__name__}: {exc})"
                    return
                if not answer.done():
                    answer.set_result(value)
        except (asyncio.IncompleteReadError, ConnectionResetError):
            # its last words (a traceback, the kernel's kill) are on stderr, which ends when the process does
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(self._errors), 2)
            last = b"".join(self._stderr).decode("utf-8", "replace").strip().splitlines()
            if last:
                reason += f": {last[-1][:200]}"
        finally:
            self._fail(reason)  # whatever ended the reading, no caller waits for an answer that cannot come

    async def _read_errors(self) -> None:
        stderr = self.process.stderr
        assert stderr is not None
        while line := await stderr.readline():
            self._stderr.append(line)

    def _fail(self, reason: str) -> None:
        if self._gone is None:
            self._gone = reason
        while self._pending:
            answer = self._pending.popleft()
            if not answer.done():
                answer.set_exception(CheckProcessGone(reason))

    async def close(self) -> None:
        """Ask the helper to finish (end of input) and wait for it; kill it if it does not end in 5 s."""
        self._fail("the checks process was closed")
        stdin = self.process.stdin
        if stdin is not None and not stdin.is_closing():
            stdin.close()
        try:
            await asyncio.wait_for(self.process.wait(), 5)
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                self.process.kill()
            await self.process.wait()
        for task in (self._reader, self._errors):
            task.cancel()
        await asyncio.gather(self._reader, self._errors, return_exceptions=True)


def serve(requests: IO[bytes], answers: IO[bytes]) -> None:
    """Answer requests until the end of input (the helper's main loop)."""
    while header := requests.read(_HEADER):
        size = int.from_bytes(header, "big")
        check_ids, bundles = pickle.loads(requests.read(size))  # noqa: S301 - our own process, a private pipe
        # a check that raises ends the helper (traceback on its stderr): the caller runs the chunk itself
        data = pickle.dumps(analyze_many(bundles, check_ids), protocol=pickle.HIGHEST_PROTOCOL)
        answers.write(len(data).to_bytes(_HEADER, "big") + data)
        answers.flush()


def main() -> None:
    answers = os.fdopen(os.dup(sys.stdout.fileno()), "wb")
    sys.stdout = sys.stderr  # nothing but answers on the pipe, whatever a check might print
    with contextlib.suppress(KeyboardInterrupt, BrokenPipeError):
        serve(sys.stdin.buffer, answers)


if __name__ == "__main__":
    main()
