"""Portraits from a text prompt with the user's own Stable Diffusion checkpoint (extra
``neural``): :mod:`.portrait` loads a local diffusers folder or single file, generates, and
keeps only images with one usable frontal face. ``twintake avatar create`` makes a photo avatar
of the best (:mod:`twintake.avatar_create`)."""

from .portrait import Portrait, check_sd_model, generate_portraits, load_sd_pipeline, rank_portraits, sd_family

__all__ = ["Portrait", "check_sd_model", "generate_portraits", "load_sd_pipeline", "rank_portraits", "sd_family"]
