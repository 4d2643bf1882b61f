"""Shared fixtures: real media from ../shared/media (never copied into the repo)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

MEDIA = Path(__file__).resolve().parents[1].parent / "shared" / "media"


@pytest.fixture(scope="session")
def media() -> Path:
    if not (MEDIA / "MANIFEST.tsv").is_file():
        pytest.skip(f"shared test media not found at {MEDIA}")
    return MEDIA


@pytest.fixture(scope="session", autouse=True)
def _private_cache(tmp_path_factory):
    """Keep the tests' cache apart from the user's."""
    old = os.environ.get("TWINTAKE_CACHE")
    os.environ["TWINTAKE_CACHE"] = str(tmp_path_factory.mktemp("cache"))
    yield
    if old is None:
        os.environ.pop("TWINTAKE_CACHE", None)
    else:
        os.environ["TWINTAKE_CACHE"] = old


def pearson(a: np.ndarray, b: np.ndarray) -> float:
    a = np.asarray(a, np.float64) - np.mean(a)
    b = np.asarray(b, np.float64) - np.mean(b)
    return float((a * b).sum() / np.sqrt((a * a).sum() * (b * b).sum() + 1e-12))
