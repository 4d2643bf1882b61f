"""The page's "Create an avatar from a prompt" control (``twintake web --sd-model PATH``).

A prompt and a Create button under the gallery; Create runs
:func:`twintake.avatar_create.create_avatar` with the server's Stable Diffusion checkpoint as a
job of the page's own queue (:class:`twintake.web.jobs.WebJobs`: one job per visitor, so a
visitor makes either a video or an avatar at a time). Its place in the queue, progress
("generating 2/4 images") and errors show in the bottom bar like a video job's, and Cancel stops it
between two images. When it is done the new avatar joins the gallery (under a name made from the
prompt) and is selected. Without ``--sd-model`` the page has no such control.

The browser only sends the prompt: the checkpoint, the number of images and the device are the
server's settings; each Create draws from a new random seed (shown at the end).
"""

import html
import random
import re
import threading
import time
from pathlib import Path

from ..errors import NoFaceError, TwintakeError
from .jobs import BusyError
from .session import StageTracker, _duration, avatar_name
from .status import error_status, job_status

__all__ = ["CREATE_STAGES", "MAX_PROMPT_CHARS", "create_control", "create_handler", "new_avatar_name"]

#: Library hook stages of an avatar creation -> (page stage, weight in the bar).
CREATE_STAGES = {"generate": ("generating", 0.85), "face": ("preparing the avatar", 0.15)}
#: Longest prompt accepted (CLIP reads 77 tokens; a longer text is cut by the model anyway).
MAX_PROMPT_CHARS = 400
_POLL_S = 0.25
#: Expected run time of a creation, in "speech seconds" of the queue's estimate (for the wait
#: shown to visitors queued behind it): ~15 s an image on 2 cores at 512 px, 1 step.
_SPEECH_S_PER_IMAGE = 5.0
_reserved: set[str] = set()
_lock = threading.Lock()


def new_avatar_name(prompt: str, avatars_dir) -> str:
    """A free avatar folder name from the prompt's first words ("smiling-woman-40", then
    "smiling-woman-40-2", ...); "avatar" when the prompt has no usable word."""
    stop = {"a", "an", "the", "of", "and", "with", "portrait", "photo", "head", "shoulders", "in", "on", "at"}
    words = [w for w in re.findall(r"\w+", prompt.lower(), flags=re.UNICODE) if w not in stop][:4]
    base = avatar_name("-".join(words)) if words else "avatar"
    name, n = base, 1
    while (avatars_dir / name).exists() or name in _reserved:
        n += 1
        name = f"{base}-{n}"
    return name


def create_control(gr, prompt_chars: int = MAX_PROMPT_CHARS):
    """The prompt box and the Create button (built inside the page's layout)."""
    with gr.Group(elem_id="create-avatar"):
        prompt = gr.Textbox(label="…or create an avatar from a prompt (drawn by Stable Diffusion on this server; "
                            "the best image with one frontal face is kept)", max_lines=2, elem_id="create-prompt",
                            placeholder="head and shoulders portrait of a smiling woman, 40, studio light",
                            max_length=prompt_chars)
        button = gr.Button("Create an avatar from a prompt", elem_id="create-avatar-button", size="sm")
    return prompt, button


def _done_status(job, created, name: str) -> str:
    lines = [f"<b>Done</b>: avatar <b id=\"created-avatar\">{html.escape(name)}</b> made in "
             f"{_duration(job.run_s())} after {_duration(job.queue_s())} in the queue, from the image of seed "
             f"{created.seed} ({created.kept} of {created.generated} images had one usable frontal face). It is "
             "selected in the gallery: type the text and press Generate.",
             "<b>AI-generated</b> - this portrait is not a real person's photo."]
    lines += [f"Note: {html.escape(str(n))}" for n in created.notes]
    return '<div class="st done">' + "<br>".join(lines) + "</div>"


def create_handler(gr, *, options, jobs, avatars_dir, ids, gallery_value, describe, clean):
    """The Create button's event: a generator yielding (status, choice, choice text, gallery,
    gallery names, preview, Create button, Generate button) until the job ends."""
    from ..avatar_create import create_avatar

    model = str(options.sd_model)
    resolved = str(Path(model).resolve())

    def clean_model(message: str) -> str:  # the page never names the server's files
        return clean(message.replace(resolved, "the server's --sd-model").replace(model, "the server's --sd-model"))

    def on_create(prompt, request: gr.Request):
        visitor, session = ids(request)
        keep = gr.update()
        free = gr.update(interactive=True)
        busy = gr.update(interactive=False)
        prompt = (prompt or "").strip()
        # refused before queueing: Generate keeps its state (a video of this visitor may be running)
        if not prompt:
            yield (error_status("the prompt is empty: describe the person to draw"),) + (keep,) * 5 + (free, keep)
            return
        if len(prompt) > MAX_PROMPT_CHARS:
            yield (error_status(f"the prompt has {len(prompt)} characters, over {MAX_PROMPT_CHARS}: shorten it"),) + \
                (keep,) * 5 + (free, keep)
            return
        seed = random.randrange(2**31 - 64)
        count = int(options.sd_count)

        def run(job):
            with _lock:
                name = new_avatar_name(prompt, avatars_dir)
                _reserved.add(name)
            try:
                created = create_avatar(prompt, options.sd_model, avatars_dir / name, count=count, seed=seed,
                                        size=int(options.sd_size), device=options.sd_device, hook=job.hook,
                                        cancel=job.cancel)
            except NoFaceError:
                raise NoFaceError(f"none of the {count} images drawn for this prompt shows one usable frontal "
                                  "face: press Create again (new images), or ask for a 'head and shoulders "
                                  "portrait, looking at the camera'") from None
            finally:
                with _lock:
                    _reserved.discard(name)
            return created, name

        try:
            job = jobs.submit(visitor, run, _SPEECH_S_PER_IMAGE * count, f"avatar from a prompt · {prompt[:40]}",
                              session, kind="avatar", tracker=StageTracker(stages=CREATE_STAGES))
        except (TwintakeError, BusyError) as e:
            yield (error_status(clean(str(e))),) + (keep,) * 5 + (free, keep)
            return
        while not job.finished:
            yield (job_status(job, jobs, time.monotonic()),) + (keep,) * 5 + (busy, busy)
            jobs.wait_change(_POLL_S)
        if job.state != "done":
            yield (clean_model(job_status(job, jobs, time.monotonic())),) + (keep,) * 5 + (free, free)
            return
        created, name = job.result
        value, names = gallery_value()
        index = names.index(name) if name in names else None
        choice = {"kind": "avatar", "name": name}
        thumb = value[index][0] if index is not None else None
        yield (_done_status(job, created, name), choice, describe(choice),
               gr.update(value=value, selected_index=index), names,
               gr.update(value=thumb, visible=thumb is not None), free, free)

    return on_create
