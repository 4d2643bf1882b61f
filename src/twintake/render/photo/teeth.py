"""Lower teeth of an open mouth, drawn per tooth in lip coordinates.

The upper teeth of the interior come from a real exemplar (:mod:`.mouth_interior`); the lower
teeth are drawn, because a single exemplar's lower teeth look like dentures and a mean of many
has none. They stand on the lower lip (they rise with the jaw) and show more as the mouth
opens: their visible height is ``min(0.075 W, 0.28 (gap - 0.06 W))`` (``W`` the inner mouth
width; the lower lip covers them in slight openings).

Tooth widths follow the mandibular arch: incisors 5.0 and 5.5 mm, canine 6.5 mm, premolars
7.0 mm (mean crown widths, e.g. Moyers' tables, "Handbook of Orthodontics", 1988), projected
onto the image plane of an arch of 0.38 W half-width (a central incisor ~0.12 W), so
teeth narrow towards the corners. Each tooth is shaded as a rounded crown (brighter in its
middle, ``0.85 + 0.15 sin(pi t)^0.6``, +-3 % per tooth), separated by an interproximal line
darker towards the incisal edge, a translucent (12 % darker) incisal fifth, with a slightly
rounded incisal edge, and the whole row darkens towards the corners (the cheeks' shade).
"""

from __future__ import annotations

import numpy as np

__all__ = ["LOWER_TOOTH_MM", "lower_teeth_layer"]

#: Crown widths (mm) from the midline outwards: central, lateral incisor, canine, 2 premolars.
LOWER_TOOTH_MM = (5.0, 5.5, 6.5, 7.0, 7.0)
_ARCH_HALF_W = 0.38  # half width of the arch (to the 2nd premolar) in inner-mouth widths
_ARCH_HALF_MM = 24.0  # arc length from the midline to the second premolar's far side (~sum above)


def _tooth_edges_u() -> np.ndarray:
    """Sorted ``u`` (0..1 along the mouth) of the tooth boundaries of the lower row."""
    edges_mm = np.concatenate([[0.0], np.cumsum(LOWER_TOOTH_MM)])
    # an arc of the arch (circle) seen from the front: x = R sin(s / R)
    r = _ARCH_HALF_MM / (np.pi / 2) * 1.05
    x = np.sin(np.clip(edges_mm / r, 0, np.pi / 2)) / np.sin(min(_ARCH_HALF_MM / r, np.pi / 2))
    x = x * _ARCH_HALF_W
    return np.concatenate([0.5 - x[::-1], 0.5 + x[1:]])


_EDGES = _tooth_edges_u()
#: Per-tooth brightness offsets (fixed, symmetric-free: real rows are not uniform).
_TOOTH_VAR = np.array([0.02, -0.03, 0.01, 0.03, -0.02, 0.0, -0.01, 0.02, -0.03, 0.01])[:len(_EDGES) - 1]


def _smooth01(x: np.ndarray) -> np.ndarray:
    x = np.clip(x, 0.0, 1.0)
    return x * x * (3 - 2 * x)


def lower_teeth_layer(u: np.ndarray, s_lo: np.ndarray, gap: np.ndarray, width_px: float,
                      teeth_rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The lower teeth over a mouth region.

    Args:
        u: (h, w) float64 position along the mouth (0 = inner corner 78, 1 = 308).
        s_lo: (h, w) float64 distance above the target lower inner lip, inner-mouth widths.
        gap: (h, w) float64 inner-lip gap at each pixel's column, inner-mouth widths.
        width_px: inner-mouth width, pixels (anti-aliasing).
        teeth_rgb: (3,) float32 colour of lit teeth (0-255), as the upper teeth are painted.
    Returns:
        ``(rgb, alpha)``: (h, w, 3) float32 colour and (h, w) float32 opacity in [0, 1].
    """
    px = 1.0 / max(width_px, 1.0)  # one pixel in widths
    height = np.clip(0.28 * (gap - 0.06), 0.0, 0.075)
    k = np.clip(np.searchsorted(_EDGES, u) - 1, 0, len(_EDGES) - 2)
    lo, hi = _EDGES[k], _EDGES[k + 1]
    t = np.clip((u - lo) / np.maximum(hi - lo, 1e-6), 0.0, 1.0)
    crown = 0.85 + 0.15 * np.sin(np.pi * t) ** 0.6
    # interproximal dark line: ~0.12 of the tooth, at least a pixel
    edge_w = np.maximum(0.06 * (hi - lo), 0.6 * px)
    dist = np.minimum(u - lo, hi - u)
    # the gaps show mostly towards the incisal edges (dark triangles), hardly at the lip
    depth = np.clip(s_lo / np.maximum(height, 1e-6), 0.0, 1.0)
    sep = 1.0 - (0.08 + 0.14 * depth) * (1.0 - np.clip(dist / edge_w, 0.0, 1.0))
    # teeth differ a little in brightness (fixed per tooth), the incisal edge is translucent
    crown = crown * (1.0 + _TOOTH_VAR[k])
    edge = 1.0 - 0.12 * _smooth01((s_lo / np.maximum(height, 1e-6) - 0.8) / 0.2)
    # rounded incisal edge (the corners of each crown a little lower) and the row's shade
    top = height * (0.82 + 0.18 * np.sin(np.pi * t) ** 0.5)
    inside = (u > _EDGES[0]) & (u < _EDGES[-1])
    corner = np.clip(np.sin(np.pi * np.clip(u, 0, 1)), 0, 1) ** 0.7
    alpha = np.clip((top - s_lo) / max(px, 1e-6) + 0.5, 0.0, 1.0) * inside * (s_lo >= -px)
    alpha = alpha * np.clip(height / max(2 * px, 1e-6), 0.0, 1.0)
    # a little darker at the corners (the cheeks' shade) and at the lip
    shade = crown * sep * edge * (0.8 + 0.2 * corner) * (0.92 + 0.08 * depth)
    rgb = shade[..., None].astype(np.float32) * np.asarray(teeth_rgb, np.float32)
    return rgb, alpha.astype(np.float32)
