"""The call log: every request the emulator receives, as the tests and the control plane read it.

A request is recorded before it is answered (so a fault or a dropped connection is still seen), then given
its status; ``$batch`` sub-requests are recorded one by one. Secrets never reach the log: the
``Authorization`` and ``Cookie`` headers and the token endpoint's credential fields are redacted.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from reclaim.emulator.clock import Clock, iso

JSON = dict[str, Any]

#: Headers whose values never reach the call log.
REDACTED_HEADERS = {"authorization", "cookie"}
#: Form fields of the token endpoint that never reach the call log.
REDACTED_FORM = {"client_secret", "client_assertion", "password", "refresh_token", "device_code"}


@dataclass
class CallRecord:
    time: str
    method: str
    path: str
    query: str
    headers: dict[str, str]
    body: Any
    #: the status answered (``None``: no answer, e.g. an injected connection reset)
    status: int | None = None
    via: str | None = None  # "$batch" for sub-requests
    #: the fault injected into this call, if any ("429", "503", "reset", "slow", ...); a "slow" call
    #: was still processed, every other fault means the request never reached the tenant
    fault: str | None = None
    #: the JSON body answered, kept only when ``CallLog.record_answers`` is on (the schema tests read it)
    answer: Any = None

    def to_json(self) -> JSON:
        return {k: v for k, v in self.__dict__.items()}


class CallLog:
    """The records, and whether to keep them (``record_calls``) and their answers (``record_answers``)."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.records: list[CallRecord] = []
        self.record_calls = True
        #: also keep each answer's JSON body (off by default: it costs memory and time)
        self.record_answers = False
        self._iso_second, self._iso_text = -1, ""

    def now_iso(self) -> str:
        """``iso(clock.now())``, formatted once per second (the log stamps every request)."""
        now = self.clock.now()
        second = int(now.timestamp())
        if second != self._iso_second:
            self._iso_second, self._iso_text = second, iso(now)
        return self._iso_text

    @staticmethod
    def logged_headers(request: Request) -> dict[str, str]:
        return {k: ("<redacted>" if k in REDACTED_HEADERS else v) for k, v in request.headers.items()}

    @staticmethod
    def logged_form(form: dict[str, str]) -> dict[str, str]:
        return {k: ("<redacted>" if k in REDACTED_FORM else v) for k, v in form.items()}

    def record(self, request: Request, body: Any, *, via: str | None = None) -> CallRecord:
        """A record of this request (kept in the log when ``record_calls`` is on)."""
        scope = request.scope
        record = CallRecord(time=self.now_iso(), method=request.method, path=scope["path"],
                            query=scope["query_string"].decode("latin-1"), headers=self.logged_headers(request),
                            body=body, via=via)
        if self.record_calls:
            self.records.append(record)
        return record

    def sub_recorder(self, request: Request) -> Any:
        """A function that records one ``$batch`` sub-request (with the envelope's headers)."""
        headers = self.logged_headers(request)

        def record(method: str, url: str, body: Any) -> CallRecord | None:
            if not self.record_calls:
                return None
            path, _, query = url.partition("?")
            call = CallRecord(time=self.now_iso(), method=method.upper(),
                              path="/v1.0" + (path if path.startswith("/") else "/" + path),
                              query=query, headers=headers, body=body, via="$batch")
            self.records.append(call)
            return call
        return record

    def answered(self, record: CallRecord, response: Response) -> Response:
        """Note the status (a dropped connection's placeholder is not an answer), and the body if kept."""
        if record.fault != "reset":
            record.status = response.status_code
            if self.record_answers and response.body and response.media_type == "application/json":
                record.answer = json.loads(bytes(response.body))
        return response
