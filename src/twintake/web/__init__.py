"""The web app (``twintake web``; extra ``web``: Gradio). See :mod:`twintake.web.app` (the page)
and :mod:`twintake.web.server` (the server and its guard)."""

from .app import WebOptions, build_app
from .server import serve

__all__ = ["WebOptions", "build_app", "serve"]
