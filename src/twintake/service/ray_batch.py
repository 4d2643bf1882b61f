"""The rows of a batch as Ray tasks on a cluster (``twintake batch --ray auto|HOST:PORT|local``).

- Inputs: every input file is put once into Ray's object store; a worker uses the file at the
  same path when it has it with the same content (a shared folder) and fetches the bytes from
  the object store only when it does not. Avatar folders travel by shared path only.
- Outputs: a task renders into a temp folder on its node and returns the MP4's bytes; the
  driver alone writes them (atomically) into the output folder, so a row is written once.
- A worker or node lost in the middle of a row: Ray runs the task again elsewhere
  (``max_retries``); the driver still writes that row once.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from ..cache import file_hash
from ..errors import BackendError, TwintakeError
from .rows import MAX_ATTEMPTS
from .rows import JobRow, run_row, write_atomic

__all__ = ["run_ray", "connect"]

_WAIT_S = 1.0


def connect(address: str, num_cpus: int) -> bool:
    """Start or join Ray; True when this call started it (and the caller should shut it down).

    Raises:
        BackendError: Ray is not installed, or the cluster cannot be reached.
    """
    try:
        import ray
    except ImportError:
        raise BackendError('--ray needs Ray: pip install "twintake[ray]"') from None
    if ray.is_initialized():
        return False
    if address not in ("auto", "local"):  # fail fast: ray.init retries an unreachable head for minutes
        import socket

        host, _, port = address.rpartition(":")
        try:
            socket.create_connection((host or "127.0.0.1", int(port)), timeout=5).close()
        except (OSError, ValueError) as e:
            raise BackendError(f"cannot reach the Ray cluster at {address!r}: {e} "
                               "(start one with `ray start --head`, or use --ray local)") from None
    try:
        if address == "local":
            ray.init(num_cpus=num_cpus, include_dashboard=False, log_to_driver=False, configure_logging=False)
        else:
            ray.init(address=address, log_to_driver=False, configure_logging=False)
    except (ConnectionError, RuntimeError, ValueError) as e:
        raise BackendError(f"cannot reach the Ray cluster at {address!r}: {str(e).splitlines()[0]} "
                           "(start one with `ray start --head`, or use --ray local)") from None
    return True


def _ray_row(row: dict, files: dict) -> dict:
    """A Ray task: materialize missing inputs, render, return the MP4's bytes (never raises for
    a job error: only a lost worker makes Ray run it again)."""
    import ray

    t0 = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="twintake-ray-") as tmp:
        try:
            for key in ("source", "audio", "voice"):
                path = row.get(key)
                if path is None or path not in files:
                    continue
                size, digest, ref = files[path]
                p = Path(path)
                if not (p.is_file() and p.stat().st_size == size and file_hash(p) == digest):
                    local = Path(tmp) / f"{key}{p.suffix}"
                    local.write_bytes(ray.get(ref))
                    row[key] = str(local)
            out = Path(tmp) / "out.mp4"
            run_row(JobRow.from_dict(row), out)
            return {"status": "ok", "data": out.read_bytes(), "seconds": time.monotonic() - t0}
        except TwintakeError as e:
            return {"status": "failed", "error": str(e), "seconds": time.monotonic() - t0}
        except Exception as e:
            return {"status": "failed", "error": f"internal error: {type(e).__name__}: {e}",
                    "seconds": time.monotonic() - t0}


def run_ray(todo: list[tuple[JobRow, str]], out_dir: Path, address: str, workers: int, add) -> None:
    """Run ``todo`` rows as Ray tasks; ``add(row, status, error, seconds, digest)`` per row."""
    import ray

    started = connect(address, workers)
    try:
        files: dict[str, tuple] = {}
        for row, _ in todo:
            for p in (row.source, row.audio, row.voice):
                if p and p != "none" and p not in files and Path(p).is_file():
                    files[p] = (Path(p).stat().st_size, file_hash(p), ray.put(Path(p).read_bytes()))
        task = ray.remote(num_cpus=1, max_retries=MAX_ATTEMPTS - 1, retry_exceptions=False)(_ray_row)
        refs = {}
        for row, digest in todo:
            needed = {p: files[p] for p in (row.source, row.audio, row.voice) if p in files}
            refs[task.remote(row.as_dict(), needed)] = (row, digest)
        while refs:
            done, _ = ray.wait(list(refs), num_returns=1, timeout=_WAIT_S)
            for ref in done:
                row, digest = refs.pop(ref)
                try:
                    r = ray.get(ref)
                except Exception as e:  # the task's retries are spent (worker/node lost)
                    add(row, "failed", f"the Ray task was lost: {type(e).__name__}: {str(e).splitlines()[0]}")
                    continue
                if r["status"] == "ok":
                    write_atomic(out_dir / row.out, r["data"])
                    add(row, "ok", None, r["seconds"], digest)
                else:
                    add(row, "failed", r["error"], r["seconds"])
    finally:
        if started:
            ray.shutdown()
