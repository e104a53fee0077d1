"""The station's web server: gunicorn, a few worker processes, each with a few threads.

One Python process runs one request's Python at a time (the GIL), so a station serving several
operators at once runs several processes (``PREPAID_WEB_WORKERS``, default one more than the
CPUs, at least 2) with ``PREPAID_WEB_THREADS`` threads each (default 4: a request waiting for
its card reader or SQLite's write lock does not hold the others). Everything the processes
share lives outside them: the database, the card reader lock (a ``flock``), the meters, the
sessions (in the database) and the idle clock (a signed cookie).

The application is loaded once, before the workers fork; static assets (vendored in the
package) are served by Django's static files handler, as the office is offline. Ctrl+C (or
SIGTERM) stops the server and its workers.

``PREPAID_SERVE_PROFILE=FILE`` profiles every request: each worker writes ``FILE.<pid>``
(cProfile) when it stops (the web benchmark merges them).
"""

from __future__ import annotations

import errno
import fcntl
import os
import socket
import sys
from collections.abc import Mapping
from typing import Any

from prepaid.core.errors import InvalidInput, PrepaidError, _
from prepaid.home import DataHome, lock_still_named

THREADS = 4


def workers() -> int:
    return _configured("PREPAID_WEB_WORKERS") or max(2, (os.cpu_count() or 1) + 1)


def threads() -> int:
    return _configured("PREPAID_WEB_THREADS") or THREADS


def _configured(name: str) -> int:
    """A positive count from the environment, else 0."""
    value = os.environ.get(name, "")
    return int(value) if value.isdigit() else 0


# The web server's settings that are counts: set, each must be a whole number of at least 1.
WEB_COUNTS = ("PREPAID_WEB_WORKERS", "PREPAID_WEB_THREADS", "PREPAID_WEB_IDLE_MINUTES")


def require_web_settings(env: Mapping[str, str]) -> None:
    """Refuse the start (``bad_setting``) on a count that is not a whole number of at least 1,
    instead of a server that ignores it or fails at its first request."""
    for name in WEB_COUNTS:
        value = env.get(name)
        if value is None or value == "":
            continue
        if not (value.isascii() and value.isdigit() and int(value) >= 1):
            raise InvalidInput(
                "bad_setting",
                _("%(name)s must be a whole number of at least 1, not “%(value)s”."),
                name=name,
                value=value,
            )


def _bind(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def require_free_port(host: str, port: int) -> None:
    """Refuse at once, saying how to choose another, a port another program listens on
    (gunicorn would retry for seconds and then log only "Can't connect")."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError:
        return  # an unknown host: gunicorn says so itself
    except UnicodeError as exc:  # no host name at all (an empty label, a label too long)
        raise InvalidInput(
            "bad_host",
            _("“%(host)s” is not a host name or address: give one such as 127.0.0.1 or 0.0.0.0."),
            host=host,
        ) from exc
    for family, kind, proto, _name, address in infos[:1]:
        with socket.socket(family, kind, proto) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as gunicorn binds
            try:
                probe.bind(address)
            except OSError as exc:
                if exc.errno != errno.EADDRINUSE:
                    return
                raise PrepaidError(
                    "port_in_use",
                    _(
                        "Port %(port)s on %(host)s is already in use (another program, or "
                        "another “prepaid serve”). Stop it, or choose another port: "
                        "prepaid serve --port N (make run PORT=N)."
                    ),
                    port=port,
                    host=host,
                ) from exc


def hold_home_alone(home: DataHome) -> int | None:
    """Take the data directory's lock exclusively, for a restore: refused while a ``prepaid
    serve`` or a command runs on it (each holds it shared, :func:`prepaid.home.share_home`),
    and held until the descriptor returned is closed, so that none starts meanwhile. None
    without a data directory (nothing runs on it)."""
    while True:
        try:
            fd = os.open(home.serving_lock, os.O_RDWR | os.O_CREAT, 0o600)
        except FileNotFoundError:
            return None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            os.close(fd)
            raise server_running(home) from exc
        if lock_still_named(fd, home.serving_lock):
            return fd
        os.close(fd)  # another restore removed the lock file meanwhile: take the new one


def let_go_of_home(home: DataHome, fd: int, *, remove: bool) -> None:
    """Release the lock :func:`hold_home_alone` took; ``remove``: the lock file was made for
    a restore that was refused, and goes again (removed while still held, so that no
    command can be holding it: one waiting for it takes the new one, see
    :func:`prepaid.home.lock_still_named`)."""
    try:
        if remove:
            home.serving_lock.unlink(missing_ok=True)
    finally:
        os.close(fd)


def server_running(home: DataHome) -> PrepaidError:
    return PrepaidError(
        "server_running",
        _(
            "Prepaid is running on the data directory %(path)s: a web server (prepaid "
            "serve) or a command (a report, a sale, the demo…). Stop it, and every other "
            "station, before restoring."
        ),
        path=str(home.root),
    )


def require_station_ready(home: DataHome) -> None:
    """What a station's web server checks before it serves, under ``prepaid serve`` or another
    WSGI server (:mod:`prepaid.wsgi`): the web server's counts (``bad_setting``), an
    initialised data directory, the office's time zone (``wrong_time_zone``), the site's card
    key (``wrong_site_secrets``) and the reader's settings (``bad_reader``,
    ``bad_mifare_key_slot``…). Any of them refuses the start."""
    from prepaid.cards.site import require_site_key
    from prepaid.readers import reader_for_station
    from prepaid.reports.time_zone import require_office_time_zone

    require_web_settings(os.environ)
    home.require()
    require_office_time_zone()
    secrets = home.load_secrets()
    require_site_key(secrets.card_key)
    reader_for_station(home, secrets, os.environ)  # only made, not opened: the settings


def application() -> Any:
    """The WSGI application with the static files, warmed up: the URLs, the views they import
    and every template are loaded before the workers fork, so none pays for it on its first
    requests."""
    from django.contrib.staticfiles.handlers import StaticFilesHandler
    from django.core.wsgi import get_wsgi_application
    from django.urls import get_resolver

    wsgi = StaticFilesHandler(get_wsgi_application())
    get_resolver().url_patterns  # noqa: B018 - imports the URL configuration and its views
    _load_templates()
    return wsgi


def _load_templates() -> None:
    from django.forms.renderers import get_default_renderer
    from django.template import TemplateDoesNotExist, TemplateSyntaxError, engines

    for engine in [*engines.all(), get_default_renderer().engine]:
        for directory in engine.template_dirs:
            for path in directory.rglob("*.html"):
                try:
                    engine.get_template(path.relative_to(directory).as_posix())
                except (TemplateDoesNotExist, TemplateSyntaxError):
                    pass


def serve(host: str, port: int) -> None:
    from django.utils.translation import gettext
    from gunicorn.app.base import BaseApplication

    wsgi = application()
    url = f"http://{_bind(host, port)}/"
    ready = gettext("Prepaid serving on %(url)s (Ctrl+C to stop)") % {"url": url}
    profile = os.environ.get("PREPAID_SERVE_PROFILE")
    if profile:
        wsgi = _Profiled(wsgi, profile)

    class Station(BaseApplication):  # type: ignore[misc]
        def load_config(self) -> None:
            options: dict[str, Any] = {
                "bind": [_bind(host, port)],
                "workers": workers(),
                "worker_class": "gthread",
                "threads": threads(),
                # a card write or a wait for the reader may take long: only a hung worker
                # (no heartbeat) is restarted, never a long request in a thread
                "timeout": 120,
                "graceful_timeout": 10,
                "keepalive": 5,
                "accesslog": "-",  # one line per request on stderr, as before
                "access_log_format": '%(h)s - "%(r)s" %(s)s %(b)s %(M)sms',
                "errorlog": "-",
                "loglevel": "warning",
                "pre_fork": _pre_fork,
                "when_ready": lambda _arbiter: sys.stderr.write(ready + "\n"),
            }
            if profile:
                options["worker_exit"] = lambda _arbiter, _worker: wsgi.dump()
            for key, value in options.items():
                self.cfg.set(key, value)

        def load(self) -> Any:
            return wsgi

    try:
        Station().run()
    except SystemExit as stop:
        if stop.code not in (0, None):
            raise


def _pre_fork(_arbiter: Any, _worker: Any) -> None:
    """No database connection crosses a fork: each worker opens its own."""
    from django.db import connections

    connections.close_all()


class _Profiled:
    """The application under cProfile, one profiler per thread, written out at worker exit."""

    def __init__(self, application: Any, path: str) -> None:
        import threading

        self.application = application
        self.path = path
        self.local = threading.local()
        self.profiles: list[Any] = []

    def __call__(self, environ: Any, start_response: Any) -> Any:
        import cProfile

        profiler = getattr(self.local, "profiler", None)
        if profiler is None:
            profiler = self.local.profiler = cProfile.Profile()
            self.profiles.append(profiler)
        profiler.enable()
        try:
            return list(self.application(environ, start_response))
        finally:
            profiler.disable()

    def dump(self) -> None:
        import pstats

        profiles = [p for p in self.profiles if p.getstats()]
        if profiles:
            stats = pstats.Stats(profiles[0])
            for other in profiles[1:]:
                stats.add(other)
            stats.dump_stats(f"{self.path}.{os.getpid()}")
