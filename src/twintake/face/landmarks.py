"""Index sets into MediaPipe's 478-point face mesh (468 mesh points + 10 iris points).

Source: MediaPipe Face Mesh topology (``mediapipe/python/solutions/face_mesh_connections.py``:
FACEMESH_LIPS, FACEMESH_FACE_OVAL, FACEMESH_LEFT_EYE, FACEMESH_RIGHT_EYE). "Left"/"right" are
the subject's.
"""

from __future__ import annotations

import numpy as np

#: Outer lip contour, clockwise from the right mouth corner (61) over the upper lip.
LIPS_OUTER = np.array(
    [61, 185, 40, 39, 37, 0, 267, 269, 270, 409, 291, 375, 321, 405, 314, 17, 84, 181, 91, 146]
)
#: Inner lip contour (the mouth opening), same order, from 78 over the upper inner lip.
LIPS_INNER = np.array(
    [78, 191, 80, 81, 82, 13, 312, 311, 310, 415, 308, 324, 318, 402, 317, 14, 87, 178, 88, 95]
)
#: Jaw line from the subject's left cheek (below the ear) over the chin (152) to the right.
JAW = np.array([361, 288, 397, 365, 379, 378, 400, 377, 152, 148, 176, 149, 150, 136, 172, 58, 132])
#: Full face oval, clockwise from the forehead (10).
FACE_OVAL = np.array(
    [10, 338, 297, 332, 284, 251, 389, 356, 454, 323, 361, 288, 397, 365, 379, 378, 400, 377,
     152, 148, 176, 149, 150, 136, 172, 58, 132, 93, 234, 127, 162, 21, 54, 103, 67, 109]
)
#: Points of the upper face that do not move with speech: eye corners, nose bridge and ridge,
#: forehead, temples. Used to estimate the face-aligning similarity transform.
STABLE = np.array([33, 133, 362, 263, 168, 6, 197, 195, 5, 4, 10, 151, 9, 8, 127, 356, 234, 454,
                   70, 300, 105, 334])
#: Points just below the nose and on the cheeks: the upper edge of the lower-face region.
UNDER_NOSE = np.array([147, 187, 205, 203, 98, 2, 327, 423, 425, 411, 376])
RIGHT_EYE_CORNERS = np.array([33, 133])
LEFT_EYE_CORNERS = np.array([362, 263])
#: The upper edge of the blending mask: across the cheeks and between nose and upper lip, low
#: enough that the nose is never blended.
MASK_TOP = np.array([147, 187, 207, 216, 92, 164, 322, 436, 427, 411, 376])
#: Points around the nose and mid-cheeks, rigid with the skull but close to the mouth: used to
#: refine the alignment of a chosen mouth onto the base frame (pitch foreshortening).
MID_FACE = np.array([1, 2, 4, 5, 195, 98, 327, 48, 278, 64, 294, 50, 280, 123, 352, 36, 266, 142, 371])
#: Upper and lower eyelid centres (right eye 159/145, left eye 386/374).
EYELIDS = np.array([159, 145, 386, 374])
UPPER_INNER_LIP = 13
LOWER_INNER_LIP = 14
MOUTH_CORNERS = np.array([61, 291])
NOSE_TIP = 1
CHIN = 152

#: The points of the mouth-shape descriptor: outer lips, inner lips and jaw (57 points).
MOUTH_POINTS = np.concatenate([LIPS_OUTER, LIPS_INNER, JAW])


def eye_centres(landmarks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Centres of the right and left eye (mean of the two corners), ``(..., 2)`` each."""
    right = landmarks[..., RIGHT_EYE_CORNERS, :2].mean(axis=-2)
    left = landmarks[..., LEFT_EYE_CORNERS, :2].mean(axis=-2)
    return right, left


def interocular_px(landmarks: np.ndarray) -> np.ndarray:
    """Distance between the eye centres in pixels; shape ``landmarks.shape[:-2]``."""
    right, left = eye_centres(landmarks)
    return np.linalg.norm(left - right, axis=-1)


def face_width_px(landmarks: np.ndarray) -> np.ndarray:
    """Cheek-to-cheek face width (points 234 and 454) in pixels."""
    return np.linalg.norm(landmarks[..., 454, :2] - landmarks[..., 234, :2], axis=-1)
