"""Typed errors of the Microsoft 365 boundary.

Errors are chosen from the service's ``error.code`` (and the HTTP status), never from the
human-readable ``message``. Every error carries its context as keyword-only attributes and has a
one-line ``str()`` that says what happened and what to do::

    ReclaimError (reclaim.errors)
    └── M365Error                      status, code, request_id, method, url   (exit 3 by default)
        ├── AuthenticationFailed       + CannotConnect: no token, bad secret/cert, token refused
        ├── Unreachable                + CannotConnect: DNS, TLS, connection refused
        ├── AccessDenied               + CannotConnect: 403; missing_permission / missing_role when known
        ├── NotFound                   404: the user, rule, message ... does not exist
        ├── MailboxNotEnabled          the user has no Exchange Online mailbox (MailboxNotEnabledForRESTAPI)
        ├── LicenseRequired            the tenant lacks a licence (e.g. sign-in logs need Entra ID P1)
        ├── BadRequest                 400: the request was wrong (a bug in reclaim, or bad input)
        ├── Throttled                  429s until the retry budget ran out; retry_after, attempts
        ├── TransientError             5xx / reset / timeout that could not be retried safely or for long enough
        ├── ExchangeError              the Exchange admin API refused a cmdlet; cmdlet, exception_type
        │   └── ExchangeNotFound       + NotFound: ManagementObjectNotFoundException and friends
        └── UnreadableAnswer           the answer could not be read: ``what`` and ``why``
            ├── UnexpectedShape        not the shape the API returns (``value`` missing, null, not objects...)
            └── LimitExceeded          a bound was exceeded (deadline, body size, items, pages, nextLink cycle)

``AuthenticationFailed``, ``Unreachable`` and ``AccessDenied`` are also ``reclaim.errors.CannotConnect``
so the CLI maps them to exit code 3 without knowing this module.
"""

from __future__ import annotations

from typing import Any

from reclaim.errors import EXIT_CONNECT, EXIT_USAGE, CannotConnect, ReclaimError

__all__ = [
    "AccessDenied",
    "AuthenticationFailed",
    "BadRequest",
    "ExchangeError",
    "ExchangeNotFound",
    "LicenseRequired",
    "LimitExceeded",
    "M365Error",
    "MailboxNotEnabled",
    "NotFound",
    "Throttled",
    "TransientError",
    "UnexpectedShape",
    "Unreachable",
    "UnreadableAnswer",
]


class M365Error(ReclaimError):
    """Base of every error raised by ``reclaim.m365``."""

    exit_code = EXIT_CONNECT

    def __init__(self, message: str, *, status: int | None = None, code: str | None = None,
                 request_id: str | None = None, method: str | None = None, url: str | None = None,
                 hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.status = status
        self.code = code
        self.request_id = request_id
        self.method = method
        self.url = url

    def __str__(self) -> str:
        parts = [self.message]
        where = " ".join(x for x in (self.method, _short_url(self.url)) if x)
        detail = ", ".join(x for x in (
            f"HTTP {self.status}" if self.status else "",
            self.code or "",
            where,
            f"request-id {self.request_id}" if self.request_id else "",
        ) if x)
        if detail:
            parts.append(f"[{detail}]")
        if self.hint:
            parts.append(f"— {self.hint}")
        return " ".join(parts)

    def one_line(self) -> str:
        return str(self)


class AuthenticationFailed(M365Error, CannotConnect):
    """No access token could be obtained, or the service refused the one we had (401)."""

    exit_code = EXIT_CONNECT


class Unreachable(M365Error, CannotConnect):
    """The endpoint could not be reached at all (DNS, TLS, connection refused)."""

    exit_code = EXIT_CONNECT


class AccessDenied(M365Error, CannotConnect):
    """403: the app lacks a Graph permission or an Entra / Exchange role for this request."""

    exit_code = EXIT_CONNECT

    def __init__(self, message: str, *, missing_permission: str | None = None,
                 missing_role: str | None = None, **context: Any) -> None:
        self.missing_permission = missing_permission
        self.missing_role = missing_role
        if context.get("hint") is None:
            needs = " or ".join(x for x in (missing_permission, missing_role) if x)
            context["hint"] = (f"grant the app {needs}, then run `reclaim tenant check`" if needs
                               else "run `reclaim tenant check` to see which permission or role is missing")
        super().__init__(message, **context)


class NotFound(M365Error):
    exit_code = EXIT_USAGE


class MailboxNotEnabled(M365Error):
    """The user has no Exchange Online mailbox (unlicensed, on-premises, soft-deleted or inactive)."""

    exit_code = EXIT_USAGE


class LicenseRequired(M365Error):
    """The tenant lacks a licence for this data (e.g. sign-in logs need Entra ID P1 or P2)."""


class BadRequest(M365Error):
    exit_code = EXIT_USAGE


class Throttled(M365Error):
    """Still throttled (429) when the retry budget ran out."""

    def __init__(self, message: str, *, retry_after: float | None = None, attempts: int = 0,
                 **context: Any) -> None:
        self.retry_after = retry_after
        self.attempts = attempts
        context.setdefault("hint", "the service is throttling this app; wait a few minutes and re-run "
                                   "(reclaim resumes where it stopped)")
        super().__init__(message, **context)


class TransientError(M365Error):
    """A server error, reset or timeout that was not retried (unsafe) or kept failing."""

    def __init__(self, message: str, *, attempts: int = 0, **context: Any) -> None:
        self.attempts = attempts
        context.setdefault("hint", "Microsoft 365 did not answer reliably; re-run the command")
        super().__init__(message, **context)


class ExchangeError(M365Error):
    """The Exchange admin API refused a cmdlet; ``message`` is the cmdlet's own error text."""

    def __init__(self, message: str, *, cmdlet: str | None = None, exception_type: str | None = None,
                 **context: Any) -> None:
        self.cmdlet = cmdlet
        self.exception_type = exception_type
        super().__init__(f"{cmdlet}: {message}" if cmdlet else message, **context)


class ExchangeNotFound(ExchangeError, NotFound):
    """The cmdlet's object does not exist (``ManagementObjectNotFoundException`` and friends)."""

    exit_code = EXIT_USAGE


class UnreadableAnswer(M365Error):
    """The service answered, but not something that can be read as the answer: the object is *unread*, never
    "empty" or "none". ``what``: the object or collection; ``why``: what was wrong with the answer."""

    def __init__(self, message: str, *, what: str = "", why: str = "", **context: Any) -> None:
        self.what = what
        self.why = why
        context.setdefault("hint", "the object was not read; re-run later, and report it if it persists")
        super().__init__(message, **context)


class UnexpectedShape(UnreadableAnswer):
    """Not the shape the API returns: ``not checked: the service answered in an unexpected shape (why)``."""

    def __init__(self, why: str, *, what: str = "", **context: Any) -> None:
        super().__init__(f"the service answered in an unexpected shape ({why})", what=what, why=why, **context)


class LimitExceeded(UnreadableAnswer):
    """A bound of the client (``reclaim.m365.limits``) was exceeded: ``<limit> exceeded (figure)``."""

    def __init__(self, why: str, *, what: str = "", setting: str | None = None, **context: Any) -> None:
        self.setting = setting
        if setting:
            context.setdefault("hint", f"the answer was abandoned; raise {setting} if the service is trusted")
        super().__init__(f"{why} exceeded", what=what, why=why, **context)


def _short_url(url: str | None) -> str:
    """The URL without its query string: query strings can carry search terms and skip tokens."""
    if not url:
        return ""
    return url.split("?", 1)[0]
