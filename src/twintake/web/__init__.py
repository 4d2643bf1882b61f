"""The web app (``twintake web``; extra ``web``: Gradio). See :mod:`twintake.web.app`."""

from .app import WebOptions, build_app, serve

__all__ = ["WebOptions", "build_app", "serve"]
