"""The web page's gatekeeper: an ASGI middleware in front of the UI framework (Gradio).

For every request, in order:

1. **Host check** (against DNS rebinding): the ``Host`` header must be an IP address, ``localhost``
   or a name given with ``--allow-host`` (``*`` turns the check off); otherwise 400.
2. **Operator** endpoints under ``/operator`` (only when an operator token is set): ``GET
   /operator/jobs`` lists the jobs, ``POST /operator/jobs/ID/cancel`` cancels one; both need
   ``Authorization: Bearer TOKEN``; ``GET /operator`` is a small page that asks for the token.
3. **Login** (when credentials are set): ``/login`` is the only open page; every other request
   needs the login cookie (HTML pages are redirected to ``/login``, the rest get 401). Failed
   logins are slowed down per client address: after 3 failures each further attempt must wait
   1, 2, 4, ... s (at most 5 min) after the previous failure, or it is answered 429 unchecked.
4. **Visitor cookie**: a random id per browser (the login cookie when there is a login),
   ``HttpOnly; SameSite=Strict``.
5. **Files**: a file of the upload cache is served only to the visitor it belongs to
   (:class:`twintake.web.files.FileRegistry`; 403 for someone else's, 404 for an unknown or
   deleted one); uploads are registered to their visitor, and an upload that is not a video,
   photo or audio file is deleted at once and answered 415.
"""

from __future__ import annotations

import hmac
import html
import ipaddress
import json
import logging
import secrets
import time
import urllib.parse
from http.cookies import SimpleCookie

from .files import MEDIA_SUFFIXES, FileRegistry

__all__ = ["Guard", "VISITOR_COOKIE", "host_allowed", "login_delay_s"]

log = logging.getLogger(__name__)

VISITOR_COOKIE = "twintake_visitor"
_FREE_FAILURES = 3
_MAX_DELAY_S = 300.0
_FORGET_FAILURES_S = 900.0
_FILE_PREFIXES = ("/gradio_api/file=", "/file=")
_BLOCKED_PREFIXES = ("/gradio_api/proxy=", "/proxy=", "/gradio_api/file/", "/file/", "/gradio_api/stream/")


def login_delay_s(failures: int) -> float:
    """Seconds a client must wait after its last failed login before it may try again."""
    if failures < _FREE_FAILURES:
        return 0.0
    return min(_MAX_DELAY_S, 2.0 ** (failures - _FREE_FAILURES))


def host_allowed(host_header: str, allowed: frozenset[str] | None) -> bool:
    """True when ``host_header`` (``name[:port]``) may reach the server: an IP literal (a
    rebinding attack needs a name), ``localhost``, or a name in ``allowed``; ``allowed`` None =
    every host."""
    if allowed is None:
        return True
    host = host_header.strip().lower()
    if host.startswith("["):  # [::1]:7860
        host = host[1:host.find("]")] if "]" in host else host[1:]
    elif host.count(":") == 1:
        host = host.split(":")[0]
    host = host.rstrip(".")
    if not host:
        return False
    try:
        ipaddress.ip_address(host)
        return True
    except ValueError:
        pass
    return host == "localhost" or host in allowed


class Guard:
    """ASGI middleware (see the module docstring).

    Args:
        app: the ASGI app behind (the FastAPI app with the Gradio page mounted).
        files: the file registry shared with the page.
        jobs: the page's :class:`~twintake.web.jobs.WebJobs` (for the operator endpoints).
        allowed_hosts: host names accepted besides IP literals and ``localhost``; None = all.
        credentials: ``[(user, password), ...]``; None = no login.
        operator_token: the operator's bearer token; None = no operator endpoints.
    """

    def __init__(self, app, *, files: FileRegistry, jobs=None, allowed_hosts: frozenset[str] | None = frozenset(),
                 credentials: list[tuple[str, str]] | None = None, operator_token: str | None = None,
                 clock=time.monotonic) -> None:
        self.app, self.files, self.jobs = app, files, jobs
        self.allowed_hosts = allowed_hosts
        self.credentials = credentials or None
        self.operator_token = operator_token or None
        self.clock = clock
        self._logins: dict[str, str] = {}  # login cookie -> user
        self._failures: dict[str, tuple[int, float]] = {}  # client address -> (failures, last failure)

    async def __call__(self, scope, receive, send):
        if scope["type"] not in ("http", "websocket"):
            return await self.app(scope, receive, send)
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        path = scope.get("path", "")
        if not host_allowed(headers.get("host", ""), self.allowed_hosts):
            return await _respond(scope, send, 400, "this server does not answer to that host name "
                                  "(start it with --allow-host NAME to allow one)")
        if path == "/operator" or path.startswith("/operator/"):
            return await self._operator(scope, receive, send, headers, path)
        cookies = _cookies(headers.get("cookie", ""))
        visitor = cookies.get(VISITOR_COOKIE, "")
        set_cookie = None
        if self.credentials is not None:
            if path in ("/login", "/login/"):
                return await self._login(scope, receive, send)
            if path == "/logout":
                self._logins.pop(visitor, None)
                return await _redirect(send, "/login", _cookie_header("", expire=True))
            if visitor not in self._logins:
                if scope["type"] == "http" and scope.get("method") == "GET" and "text/html" in headers.get("accept", ""):
                    return await _redirect(send, "/login")
                return await _respond(scope, send, 401, "log in first")
        elif len(visitor) < 20:
            visitor = secrets.token_urlsafe(24)
            set_cookie = _cookie_header(visitor)
            # the page behind sees the new id as if the browser had sent it
            others = [(k, v) for k, v in scope.get("headers", []) if k.lower() != b"cookie"]
            jar = "; ".join(x for x in (headers.get("cookie", ""), f"{VISITOR_COOKIE}={visitor}") if x)
            scope = dict(scope, headers=[*others, (b"cookie", jar.encode("latin-1"))])
        if path.startswith(_BLOCKED_PREFIXES):
            return await _respond(scope, send, 403, "not served here")
        if path.startswith(_FILE_PREFIXES):
            target = urllib.parse.unquote(path.split("=", 1)[1])
            status = self.files.may_read(target, visitor)
            if status != 200:
                return await _respond(scope, send, status, "no such file" if status == 404 else "not your file")
        if scope["type"] == "http" and scope.get("method") == "POST" and path.rstrip("/").endswith("/upload"):
            return await self._upload(scope, receive, send, visitor, set_cookie)
        if set_cookie is not None:
            send = _with_cookie(send, set_cookie)
        return await self.app(scope, receive, send)

    # ------------------------------------------------------------------ uploads

    async def _upload(self, scope, receive, send, visitor: str, set_cookie):
        start, body = {}, []

        async def capture(message):
            if message["type"] == "http.response.start":
                start.update(message)
            elif message["type"] == "http.response.body":
                body.append(message.get("body", b""))

        await self.app(scope, receive, capture)
        raw = b"".join(body)
        status = start.get("status", 500)
        if status == 200:
            try:
                paths = json.loads(raw)
            except ValueError:
                paths = []
            if isinstance(paths, list):
                bad = [p for p in paths if isinstance(p, str) and _suffix(p) not in MEDIA_SUFFIXES]
                if bad:
                    self.files._delete([_resolve(p) for p in paths if isinstance(p, str)])
                    names = ", ".join(sorted({p.rsplit("/", 1)[-1] for p in bad}))
                    return await _respond(scope, send, 415, f"{names}: only videos, photos and audio files "
                                          "can be uploaded", set_cookie)
                for p in paths:
                    if isinstance(p, str):
                        self.files.add(p, visitor)
        headers = [(k, v) for k, v in start.get("headers", []) if k.lower() != b"content-length"]
        headers.append((b"content-length", str(len(raw)).encode()))
        if set_cookie is not None:
            headers.append((b"set-cookie", set_cookie.encode()))
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": raw})

    # ------------------------------------------------------------------ login

    async def _login(self, scope, receive, send):
        client = (scope.get("client") or ("?", 0))[0]
        if scope.get("method") != "POST":
            return await _html(send, 200, _login_page(""))
        now = self.clock()
        failures, last = self._failures.get(client, (0, 0.0))
        if failures and now - last > _FORGET_FAILURES_S:
            failures = 0
        wait = login_delay_s(failures) - (now - last)
        if wait > 0:
            return await _html(send, 429, _login_page(f"Too many failed logins: try again in {wait:.0f} s."),
                               [(b"retry-after", str(int(wait) + 1).encode())])
        form = urllib.parse.parse_qs((await _read_body(receive)).decode("utf-8", "replace"))
        user = (form.get("username") or [""])[0]
        password = (form.get("password") or [""])[0]
        ok = False
        for u, p in self.credentials:
            # compare every pair in full, so timing does not tell which part was wrong
            ok |= hmac.compare_digest(u.encode(), user.encode()) & hmac.compare_digest(p.encode(), password.encode())
        if not ok:
            self._failures[client] = (failures + 1, now)
            log.warning("failed web login for %r from %s (%d in a row)", user[:40], client, failures + 1)
            return await _html(send, 401, _login_page("Wrong user name or password."))
        self._failures.pop(client, None)
        token = secrets.token_urlsafe(32)
        self._logins[token] = user
        return await _redirect(send, "/", _cookie_header(token))

    # ------------------------------------------------------------------ operator

    async def _operator(self, scope, receive, send, headers, path):
        if self.operator_token is None or self.jobs is None or scope["type"] != "http":
            return await _respond(scope, send, 404, "no operator access on this server (start it with "
                                  "--operator-token-file)")
        if path.rstrip("/") == "/operator" and scope.get("method") == "GET":
            return await _html(send, 200, _OPERATOR_PAGE)
        given = headers.get("authorization", "")
        if not hmac.compare_digest(given.encode(), f"Bearer {self.operator_token}".encode()):
            return await _respond(scope, send, 401, "operator token needed: Authorization: Bearer TOKEN")
        parts = path.strip("/").split("/")
        if parts == ["operator", "jobs"] and scope.get("method") == "GET":
            return await _json(send, 200, {"jobs": self.jobs.snapshot()})
        if len(parts) == 4 and parts[:2] == ["operator", "jobs"] and parts[3] == "cancel" \
                and scope.get("method") == "POST":
            ok = self.jobs.cancel(parts[2], by="operator")
            return await _json(send, 200 if ok else 404, {"id": parts[2], "cancelled": ok})
        return await _respond(scope, send, 404, "unknown operator request")


# ---------------------------------------------------------------------- helpers


def _suffix(path: str) -> str:
    name = path.rsplit("/", 1)[-1]
    return ("." + name.rsplit(".", 1)[-1].lower()) if "." in name else ""


def _resolve(path: str):
    from pathlib import Path

    return Path(path).resolve()


def _cookies(header: str) -> dict[str, str]:
    c = SimpleCookie()
    try:
        c.load(header)
    except Exception:  # noqa: BLE001 - a malformed cookie header counts as none
        return {}
    return {k: m.value for k, m in c.items()}


def _cookie_header(value: str, expire: bool = False) -> str:
    extra = "; Max-Age=0" if expire else ""
    return f"{VISITOR_COOKIE}={value}; Path=/; HttpOnly; SameSite=Strict{extra}"


def _with_cookie(send, cookie: str):
    async def wrapped(message):
        if message["type"] == "http.response.start":
            message = dict(message, headers=[*message.get("headers", []), (b"set-cookie", cookie.encode())])
        await send(message)

    return wrapped


async def _read_body(receive, limit: int = 65536) -> bytes:
    chunks, size = [], 0
    while True:
        message = await receive()
        chunk = message.get("body", b"")
        size += len(chunk)
        if size <= limit:
            chunks.append(chunk)
        if not message.get("more_body"):
            return b"".join(chunks)


async def _send(send, status: int, body: bytes, content_type: str, extra=None):
    headers = [(b"content-type", content_type.encode()), (b"content-length", str(len(body)).encode()),
               (b"cache-control", b"no-store"), *(extra or [])]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def _respond(scope, send, status: int, message: str, set_cookie: str | None = None):
    if scope["type"] == "websocket":
        return await send({"type": "websocket.close", "code": 1008})
    extra = [(b"set-cookie", set_cookie.encode())] if set_cookie else None
    await _send(send, status, (message + "\n").encode(), "text/plain; charset=utf-8", extra)


async def _html(send, status: int, page: str, extra=None):
    await _send(send, status, page.encode(), "text/html; charset=utf-8", extra)


async def _json(send, status: int, data):
    await _send(send, status, json.dumps(data).encode(), "application/json")


async def _redirect(send, location: str, cookie: str | None = None):
    extra = [(b"location", location.encode())] + ([(b"set-cookie", cookie.encode())] if cookie else [])
    await _send(send, 303, b"", "text/plain", extra)


def _login_page(message: str) -> str:
    note = f'<p id="login-message" role="alert">{html.escape(message)}</p>' if message else ""
    return f"""<!doctype html><html lang="en"><head><meta charset="utf-8"><title>twintake · log in</title>
<meta name="viewport" content="width=device-width"><style>body{{font-family:system-ui,sans-serif;max-width:22em;
margin:10vh auto;padding:1em}}input,button{{display:block;width:100%;margin:.4em 0 1em;padding:.5em;font-size:1em}}
#login-message{{color:#b91c1c;font-weight:600}}</style></head><body><h1>twintake</h1>{note}
<form method="post" action="/login"><label>User name<input id="username" name="username" autocomplete="username"
autofocus></label><label>Password<input id="password" name="password" type="password"
autocomplete="current-password"></label><button id="login-button" type="submit">Log in</button></form></body></html>"""


_OPERATOR_PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>twintake · operator</title>
<style>body{font-family:system-ui,sans-serif;margin:2em}td,th{padding:.3em .8em;text-align:left}</style></head>
<body><h1>twintake · jobs</h1><p><label>Operator token <input id="token" type="password"></label>
<button id="load">Show jobs</button></p><table id="jobs"></table><script>
const tok = () => document.getElementById('token').value;
async function load() {
  const r = await fetch('/operator/jobs', {headers: {Authorization: 'Bearer ' + tok()}});
  const t = document.getElementById('jobs');
  if (!r.ok) { t.innerHTML = '<tr><td>' + r.status + ' ' + (await r.text()) + '</td></tr>'; return; }
  const rows = (await r.json()).jobs;
  t.innerHTML = '<tr><th>id</th><th>state</th><th>visitor</th><th>job</th><th>queue</th><th>queued s</th>' +
    '<th>run s</th><th>stage</th><th></th></tr>';
  for (const j of rows) {
    const tr = document.createElement('tr');
    for (const k of ['id','state','visitor','summary','position','queue_s','run_s','stage']) {
      const td = document.createElement('td'); td.textContent = j[k] ?? ''; tr.appendChild(td); }
    const td = document.createElement('td');
    if (j.state === 'queued' || j.state === 'running') {
      const b = document.createElement('button'); b.textContent = 'Cancel';
      b.onclick = async () => { await fetch('/operator/jobs/' + j.id + '/cancel',
        {method: 'POST', headers: {Authorization: 'Bearer ' + tok()}}); load(); };
      td.appendChild(b); }
    tr.appendChild(td); t.appendChild(tr); }
}
document.getElementById('load').onclick = load; setInterval(() => { if (tok()) load(); }, 3000);
</script></body></html>"""
