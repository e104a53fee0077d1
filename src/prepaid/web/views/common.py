"""What every page needs: rendering with the reader panel, refusals, done-once posts."""

from __future__ import annotations

import fcntl
import hashlib
import os
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from django.contrib import messages
from django.db import Error as DatabaseError
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render

from prepaid.core.errors import PrepaidError
from prepaid.web.errors import message, raise_if_forbidden
from prepaid.web.forms import is_key
from prepaid.web.http import is_htmx

DONE_KEYS = "prepaid_done"  # idempotency key → URL of the result, per session
DONE_KEEP = 50
SENT_LOCKS = 64  # lock files the keys of forms being done are spread over


def page(
    request: HttpRequest, template: str, context: dict[str, Any] | None = None, status: int = 200
) -> HttpResponse:
    return render(request, f"prepaid/web/{template}", context or {}, status=status)


def refusal(exc: PrepaidError) -> dict[str, str]:
    """A service refusal for the template: its stable code and the localized message."""
    raise_if_forbidden(exc)
    return {"code": exc.code, "message": message(exc)}


def refused(request: HttpRequest, error: dict[str, Any], status: int) -> HttpResponse:
    """A refusal shown where the operator looks. A page or a plain form gets the refusal page.
    htmx (the reader panel's buttons, its reload, the live quote) swaps the answer into one
    part of the page, so it gets that part only — a whole page there would nest the menus
    inside the panel: the reader panel again with the refusal in it when the panel asked, else
    the refusal alone. ``error`` is ``{"code", "message"}``, with ``not_done`` when what was
    sent is known to have done nothing."""
    if not is_htmx(request):
        return page(request, "refused.html", {"error": error}, status=status)
    if request.headers.get("HX-Target") == "reader-panel" and request.user.is_authenticated:
        from prepaid.web.views.reader import refused_panel

        try:
            return refused_panel(request, error, status)
        except (PrepaidError, DatabaseError, OSError):
            pass  # no panel to show it in (the reader or the database is failing): alone
    return page(request, "_refusal.html", {"error": error}, status=status)


def delete_page(
    request: HttpRequest,
    delete: Callable[[], dict[str, Any]],
    done: str,
    listing: str,
    template: str,
    context: Callable[[], dict[str, Any]],
) -> HttpResponse:
    """A page confirming a deletion: posted, ``delete()`` deletes and the listing says ``done``
    of the name deleted; a refusal (still in use) stays on the page, as a 409."""
    error = None
    if request.method == "POST":
        try:
            deleted = delete()
        except PrepaidError as exc:
            error = refusal(exc)
        else:
            messages.success(request, done % {"name": deleted["name"]})
            return redirect(listing)
    return page(request, template, {**context(), "error": error}, status=409 if error else 200)


def _done_urls(request: HttpRequest) -> dict[str, str]:
    """The results remembered in the session as stored now: a post of the same form that
    finished since this request read its session is among them."""
    session = request.session
    stored = session if session.session_key is None else type(session)(session.session_key)
    return dict(stored.get(DONE_KEYS, {}))


@contextmanager
def sent_once(key: str | None) -> Iterator[None]:
    """Hold a form's idempotency key while its post is done. The same form sent again
    meanwhile (two fast clicks that both reach the server) waits here, then finds the first
    result with ``done_before`` instead of doing it twice. Forms with no key are not held."""
    if not is_key(key):
        yield
        return
    stripe = int(hashlib.sha256(str(key).encode()).hexdigest(), 16) % SENT_LOCKS
    path = os.path.join(tempfile.gettempdir(), f"prepaid-sent-{os.getuid()}-{stripe}.lock")
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the lock


def card_written_before() -> str:
    """What a card-writing form sent again says: its first send wrote the card."""
    from django.utils.translation import gettext

    return gettext(
        "This form was already sent: the card was written then. Nothing was written again."
    )


def done_before(request: HttpRequest, key: str | None) -> HttpResponse | None:
    """A resubmitted form (same idempotency key) goes to the first result again."""
    if not is_key(key):
        return None
    url = _done_urls(request).get(str(key))
    return HttpResponseRedirect(url) if url else None


def remember_done(
    request: HttpRequest, key: str | None, url: str, *, service_replays: bool = False
) -> HttpResponse:
    """Go to the result; remember it for a resubmit of the same key, unless the service itself
    answers a replayed key with the first result (purchases do: no session write needed)."""
    if not service_replays:
        remember(request, key, url)
    return HttpResponseRedirect(url)


def remember(request: HttpRequest, key: str | None, url: str) -> None:
    """Remember the page of a form's result for a resubmit of the same key (``done_before``).
    Stored at once, so that a resubmit waiting in ``sent_once`` finds it."""
    if not is_key(key):
        return
    done = _done_urls(request)
    done[str(key)] = url
    request.session[DONE_KEYS] = dict(list(done.items())[-DONE_KEEP:])
    request.session.save()


def or_404(function: Any, *args: Any, **kwargs: Any) -> Any:
    """Look an object up through a service; an unknown id is a 404, not a refusal."""
    from django.http import Http404

    try:
        return function(*args, **kwargs)
    except PrepaidError as exc:
        if exc.code.startswith("unknown_"):
            raise Http404(message(exc)) from None
        raise
