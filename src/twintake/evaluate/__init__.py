"""Measuring twintake: lip-sync, image and voice metrics, the self-reenactment protocol, benchmarks.

* :mod:`.metrics`: LMD, AV offset / sync confidence, opening correlation with the real mouth,
  silent mouth, mouth sharpness, identity-region SSIM/PSNR, temporal jitter, speaker similarity
  (resemblyzer, ``pip install "twintake[eval]"``) and WER (pocketsphinx).
* :mod:`.protocol`: self-reenactment with leave-segment-out and three baselines.
* :mod:`.report`: results.json, Markdown table, plots.
* :mod:`.commands`: ``eval_command`` and ``bench_command`` (what `twintake eval` / `bench` run);
  :mod:`.cli` holds their typer wrappers. See docs/evaluation.md.
"""
