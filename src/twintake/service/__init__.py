"""Many videos, many machines: ``twintake batch`` (local processes or a Ray cluster) and
``twintake serve`` (a REST API over a SQLite job store).

Every job is one :func:`twintake.job.make_video` call run in a worker process.

- :mod:`.rows`: a job row (``source``, ``text``/``audio``, ``voice``, ``lang``, ``out``, say
  options), its inputs hash and running it.
- :mod:`.batch`: ``run_batch`` over local processes; :mod:`.ray_batch` the same rows as Ray tasks.
- :mod:`.store`, :mod:`.workers`, :mod:`.auth`, :mod:`.api`: the HTTP service.

FastAPI/uvicorn (extra ``serve``) and Ray (extra ``ray``) are imported only by the modules that
need them.
"""
