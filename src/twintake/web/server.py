"""Runs the web page: the Gradio app mounted in a FastAPI app, behind the guard
(:class:`twintake.web.guard.Guard`), served by uvicorn; a sweeper thread deletes files past
their time. Also reads the login from ``--auth-file`` / ``TWINTAKE_WEB_AUTH``."""

from __future__ import annotations

import logging
import os
import socket
import threading
from pathlib import Path

from ..errors import TwintakeError
from .app import CSS, WebOptions, build_app
from .guard import Guard

__all__ = ["serve", "read_credentials", "read_token", "AUTH_ENV", "OPERATOR_ENV"]

log = logging.getLogger(__name__)

#: ``user:password`` (several separated by newlines) when no ``--auth-file`` is given.
AUTH_ENV = "TWINTAKE_WEB_AUTH"
#: The operator's bearer token when no ``--operator-token-file`` is given.
OPERATOR_ENV = "TWINTAKE_WEB_OPERATOR_TOKEN"
_SWEEP_S = 15.0


def read_credentials(text: str, where: str) -> list[tuple[str, str]]:
    """``user:password`` lines (blank lines and ``#`` comments skipped) as pairs.

    Raises:
        TwintakeError: a line without ``user:password``, or no line at all.
    """
    pairs = []
    for n, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        user, sep, password = line.partition(":")
        if not sep or not user or not password:
            raise TwintakeError(f"{where} line {n} is not user:password")
        pairs.append((user, password))
    if not pairs:
        raise TwintakeError(f"{where} has no user:password line")
    return pairs


def read_token(path: Path | None) -> str | None:
    """The operator token from a file (first line) or ``TWINTAKE_WEB_OPERATOR_TOKEN``; None = none.

    Raises:
        TwintakeError: the file is missing or empty, or the token is under 16 characters.
    """
    if path is not None:
        try:
            token = Path(path).read_text(encoding="utf-8").strip().splitlines()[0].strip()
        except (OSError, IndexError):
            raise TwintakeError(f"cannot read an operator token from {path}") from None
    else:
        token = os.environ.get(OPERATOR_ENV, "").strip()
        if not token:
            return None
    if len(token) < 16:
        raise TwintakeError("the operator token must have 16 characters or more")
    return token


def _credentials(auth) -> list[tuple[str, str]] | None:
    if auth is None:
        return None
    if isinstance(auth, tuple) and len(auth) == 2 and all(isinstance(x, str) for x in auth):
        return [auth]
    return list(auth)


def serve(options: WebOptions | None = None, *, block: bool = True):
    """Start the web app at ``http://host:port`` behind the guard.

    With ``block`` it runs until Ctrl-C / SIGTERM and then deletes every temp file; without, it
    runs in a thread and returns ``(server, runtime)`` (stop with ``server.should_exit = True``,
    then ``runtime.close()``).

    Raises:
        BackendError: Gradio (or FastAPI/uvicorn) is not installed.
        OSError: the port is taken.
    """
    o = options or WebOptions()
    demo, runtime = build_app(o)
    try:
        import gradio as gr
        import uvicorn
        from fastapi import FastAPI
    except ImportError:
        from ..errors import BackendError

        raise BackendError('the web app needs Gradio: pip install "twintake[web]"') from None
    sock = socket.socket(socket.AF_INET6 if ":" in o.host else socket.AF_INET)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((o.host, o.port))  # a taken port is one clear error, before anything starts
    except OSError:
        sock.close()
        runtime.close()
        raise
    app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)
    app = gr.mount_gradio_app(app, demo, path="", css=CSS, theme=demo._twintake_theme, show_error=False,
                              max_file_size=f"{o.max_upload_mb:g}mb", footer_links=[], pwa=False,
                              ssr_mode=False, enable_monitoring=False)
    hosts = None if "*" in o.allow_hosts else frozenset(h.lower().rstrip(".") for h in o.allow_hosts)
    guard = Guard(app, files=runtime.files, jobs=runtime.jobs, allowed_hosts=hosts,
                  credentials=_credentials(o.auth), operator_token=o.operator_token)
    runtime.guarded.append(guard)
    server = uvicorn.Server(uvicorn.Config(guard, log_level="warning", timeout_graceful_shutdown=3))
    stop = threading.Event()

    def sweep():
        while not stop.wait(_SWEEP_S):
            try:
                runtime.files.sweep()
            except OSError as e:
                log.warning("file sweep failed: %s", e)

    threading.Thread(target=sweep, name="twintake-web-sweep", daemon=True).start()
    if not block:
        t = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name="twintake-web", daemon=True)
        t.start()
        return server, runtime
    try:
        server.run(sockets=[sock])
    finally:
        stop.set()
        runtime.close()
    return server, runtime
