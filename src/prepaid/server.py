"""A small threaded WSGI server for one station (the office runs it on localhost)."""

from __future__ import annotations

import sys
from socketserver import ThreadingMixIn
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server


class _ThreadingServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        sys.stderr.write(f"{self.address_string()} - {format % args}\n")


def serve(host: str, port: int) -> None:
    from django.contrib.staticfiles.handlers import StaticFilesHandler
    from django.core.wsgi import get_wsgi_application

    application = StaticFilesHandler(get_wsgi_application())
    with make_server(
        host, port, application, server_class=_ThreadingServer, handler_class=_QuietHandler
    ) as server:
        sys.stderr.write(f"Prepaid serving on http://{host}:{port}/ (Ctrl+C to stop)\n")
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            pass
