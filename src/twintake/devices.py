"""The compute device of the optional neural backends (Wav2Lip, XTTS-v2, Stable Diffusion)."""

from __future__ import annotations

from .errors import BackendError

__all__ = ["check_device"]


def check_device(device: str, what: str = "the model") -> str:
    """``"cpu"`` or ``"cuda"`` (``"cuda:N"`` too), checked against this machine before any work.

    Args:
        device: what the user asked for (``--device``).
        what: names the checkpoint in the message.
    Returns:
        ``device`` unchanged.
    Raises:
        BackendError: an unknown device; CUDA asked for where PyTorch is missing or sees no GPU.
    """
    if device == "cpu":
        return device
    if not (device == "cuda" or device.startswith("cuda:")):
        raise BackendError(f"unknown --device {device!r}: choose cpu or cuda")
    try:
        import torch
    except ImportError:
        raise BackendError(f"--device {device} needs PyTorch, which is not installed: "
                           "pip install 'twintake[neural]'") from None
    if not torch.cuda.is_available():
        raise BackendError(f"--device {device}: cannot run {what} there, PyTorch {torch.__version__} sees no "
                           "CUDA GPU on this machine; use --device cpu (or a CUDA build of torch and a GPU)")
    return device
