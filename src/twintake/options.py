"""Option dataclasses, built by the CLI and the web app; the library never sees argparse."""

from __future__ import annotations

from dataclasses import dataclass, field

from .motion.driver import DriverOptions
from .render.video.composite import CompositeOptions
from .render.enhance import DetailOptions, check_enhance
from .render.neural import check_lipsync
from .render.video.select import SelectOptions


@dataclass
class LipsyncOptions:
    """Options of :func:`twintake.lipsync`.

    Attributes:
        face_index: which face to animate when several are visible (0 = largest).
        fps: output frame rate; None = the source video's; 2x or 4x the source's (e.g. 50 or
            100 for a 25 fps video) adds motion-compensated in-between frames (DIS optical flow).
        size: (width, height) in pixels of a photo avatar's video, cropped around the face; None =
            the photo's own size (even-rounded), scaled down to 1920 px on its longer side when
            larger (:func:`twintake.render.photo.default_photo_size`). Videos keep their size.
        crf: H.264 constant rate factor (0 lossless .. 51 worst; 18 is visually lossless).
        preset: x264 speed preset (ultrafast .. veryslow).
        max_duration_s: longest speech accepted, seconds: a longer audio file is an error; a
            text, spoken sentence by sentence on a video, is cut there with a note
            (:attr:`RenderResult.cut_at_s`).
        use_cache: reuse/store the source's face track and mouth bank on disk (videos; a
            photo has nothing worth caching).
        enhance: restore the detail lost in warping: ``"none"``, ``"mouth"`` (the blended
            mouth region) or ``"face"`` (the whole face); None = the avatar's default, else
            ``"mouth"`` (see :mod:`twintake.render.enhance`); photos too (the lips and jaw).
        enhancer_model: path of a local GFPGAN checkpoint (``GFPGANv1.3.pth``/``v1.4``; needs the
            ``neural`` extra) to restore with instead of the built-in ``detail`` enhancer.
        driver, select, composite, detail: options of the motion driver (videos and photos),
            the mouth selection and the compositing (videos: a photo has no mouths to select
            from) and the ``detail`` enhancer.
        seed: seed of a photo's blinks and head motion.
        lipsync_backend: ``"twintake"`` (the person's own mouths; None = the avatar's default,
            else this) or ``"wav2lip"`` (a user's Wav2Lip checkpoint, videos only; needs the
            ``neural`` extra; :mod:`twintake.render.neural`).
        lipsync_checkpoint: the neural backend's checkpoint file (``wav2lip.pth`` /
            ``wav2lip_gan.pth``).
        device: where a neural backend runs: ``"cpu"`` (None: the default) or ``"cuda"``.

    Raises:
        BackendError: unknown ``enhance``, or ``enhancer_model`` not an existing file; unknown
            ``lipsync_backend`` or ``device``, or a neural backend without an existing
            ``lipsync_checkpoint``.
    """

    face_index: int = 0
    fps: float | None = None
    size: tuple[int, int] | None = None
    crf: int = 18
    preset: str = "veryfast"
    max_duration_s: float = 1800.0
    use_cache: bool = True
    enhance: str | None = None
    enhancer_model: str | None = None
    driver: DriverOptions = field(default_factory=DriverOptions)
    select: SelectOptions = field(default_factory=SelectOptions)
    composite: CompositeOptions = field(default_factory=CompositeOptions)
    detail: DetailOptions = field(default_factory=DetailOptions)
    seed: int = 0
    lipsync_backend: str | None = None
    lipsync_checkpoint: str | None = None
    device: str | None = None

    def __post_init__(self) -> None:
        check_enhance(self.enhance, self.enhancer_model)
        check_lipsync(self.lipsync_backend, self.lipsync_checkpoint, self.device)
