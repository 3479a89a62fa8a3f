"""How app.py serves the app: its flags, safe defaults, the password, exposure warnings and clean-up.

Defaults are for one teacher's laptop: bound to 127.0.0.1, no public link, fine-tuning allowed.
Serving a class over the network is a choice made with flags, and the app says what it means:

    python app.py --host 0.0.0.0 --auth teacher:s3cret --no-train   # the class's network, a password, no training
    SRGAN_AUTH=teacher:s3cret python app.py --share                  # a public *.gradio.live link

The address comes from a flag first, then Gradio's own GRADIO_SERVER_NAME / GRADIO_SERVER_PORT (what Hugging
Face Spaces and containers set), then 127.0.0.1:7860. On a Hugging Face Space ($SPACE_ID is set) fine-tuning is
off unless --train or SRGAN_FINETUNE=1 turns it on: a shared public Space should not give one visitor the whole
CPU for minutes.

Kept free of Gradio imports (tests parse flags without building the app).
"""

from __future__ import annotations

import argparse
import contextlib
import ipaddress
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from srgan.cli import OneLineParser

from .context import AppSettings

AUTH_ENV = "SRGAN_AUTH"  # "user:password", so the password stays out of `ps` and the shell history
HOST_ENV, PORT_ENV = "GRADIO_SERVER_NAME", "GRADIO_SERVER_PORT"  # Gradio's own; Spaces set 0.0.0.0 and 7860
DEFAULT_HOST, DEFAULT_PORT = "127.0.0.1", 7860
FINETUNE_ENV = "SRGAN_FINETUNE"  # "1" turns fine-tuning on (e.g. on a Space, in its settings), "0" off
SPACE_ENV = "SPACE_ID"  # "owner/name", set by Hugging Face Spaces
_YES, _NO = ("1", "true", "yes", "on"), ("0", "false", "no", "off")
LOCAL_HOSTS = {"localhost"}
# Gradio's cache (uploads, results): every 30 min, delete what this app wrote more than 2 h ago (a lesson).
DELETE_CACHE = (30 * 60, 2 * 3600)
# Our own temporary folders (Compare downloads, fine-tuned checkpoints to download): same age.
TEMP_PREFIXES = ("srgan-compare-", "srgan-finetune-", "srgan-mos-")  # download folders of the tabs
TEMP_MAX_AGE_S = 2 * 3600
MAX_UPLOAD_MB_CAP = 1024.0  # a typo like --max-upload-mb 25000 is refused, not obeyed


class UsageError(ValueError):
    """A bad flag (the message is printed on one line, exit code 2)."""


def build_parser(prog: str = "python app.py") -> argparse.ArgumentParser:
    """The flags of `python app.py` (also `srgan-studio` and `python -m srgan app`)."""
    d = AppSettings()
    p = OneLineParser(prog=prog, description="SRGAN Studio, the teaching app")
    p.add_argument(
        "--host",
        default=None,
        help=f"address to bind (default: ${HOST_ENV}, else {DEFAULT_HOST}, this machine only; "
        "0.0.0.0: every network interface)",
    )
    p.add_argument("--port", type=int, default=None, help=f"default: ${PORT_ENV}, else {DEFAULT_PORT}")
    p.add_argument("--lang", default="en", choices=["en", "es"], help="default language")
    p.add_argument(
        "--max-input-pixels",
        type=int,
        default=d.max_input_pixels,
        help=f"largest image the Compare tab upscales, in pixels (default {d.max_input_pixels:,})",
    )
    p.add_argument(
        "--max-upload-mb",
        type=float,
        default=d.max_upload_mb,
        help=f"largest file a user may upload, in MB (default {d.max_upload_mb:g})",
    )
    p.add_argument("--share", action="store_true", help="also serve on a public *.gradio.live link (needs internet)")
    p.add_argument(
        "--auth",
        default=None,
        metavar="USER:PASSWORD",
        help=f"ask for this user and password (or set ${AUTH_ENV}, which keeps it out of `ps`)",
    )
    training = p.add_mutually_exclusive_group()
    training.add_argument(
        "--no-train",
        dest="allow_training",
        action="store_false",
        default=None,
        help="turn fine-tuning off (for public servers: it takes the whole machine for minutes)",
    )
    training.add_argument(
        "--train",
        dest="allow_training",
        action="store_true",
        default=None,
        help=f"turn fine-tuning on where it is off by default (a Hugging Face Space; or set {FINETUNE_ENV}=1)",
    )
    return p


def parse_auth(value: str | None) -> tuple[str, str] | None:
    """ "user:password" -> ("user", "password"); None or "" -> None.

    Raises:
        UsageError: no colon, or an empty user or password.
    """
    if not value:
        return None
    user, sep, password = value.partition(":")
    if not sep or not user.strip() or not password:
        raise UsageError(f"--auth (or ${AUTH_ENV}) must be USER:PASSWORD, both non-empty")
    return user.strip(), password


def parse_args(
    argv: list[str] | None = None, environ: dict[str, str] | None = None, *, prog: str = "python app.py"
) -> argparse.Namespace:
    """Parse and check the flags, completed from the environment.

    `args.auth` becomes a (user, password) tuple or None; `args.host`/`args.port` the address to bind (flag,
    else $GRADIO_SERVER_NAME/$GRADIO_SERVER_PORT, else 127.0.0.1:7860); `args.space` the Hugging Face Space's
    id or None; `args.allow_training` True or False (flag, else $SRGAN_FINETUNE, else off on a Space only).

    Args:
        argv: the arguments (default: sys.argv[1:]).
        environ: where the variables are read (default: os.environ); a flag wins over them.
        prog: the command's name in --help and in errors.

    Raises:
        SystemExit(2): a bad flag or variable, after one line on stderr.
    """
    parser = build_parser(prog)
    args = parser.parse_args(argv)
    environ = os.environ if environ is None else environ
    try:
        args.auth = parse_auth(args.auth if args.auth is not None else environ.get(AUTH_ENV))
        args.space = environ.get(SPACE_ENV, "").strip() or None
        args.host, args.port = resolve_address(args.host, args.port, environ)
        args.allow_training = training_allowed(args.allow_training, environ, on_space=args.space is not None)
        _check_limits(args)
    except UsageError as e:
        parser.error(str(e))
    return args


def resolve_address(host: str | None, port: int | None, environ: dict[str, str]) -> tuple[str, int]:
    """(host, port) to bind: the flags, else $GRADIO_SERVER_NAME / $GRADIO_SERVER_PORT, else 127.0.0.1:7860.

    Raises:
        UsageError: a port (flag or variable) that is not a number from 0 to 65535.
    """
    host = host or environ.get(HOST_ENV, "").strip() or DEFAULT_HOST
    where, raw = ("--port", str(port)) if port is not None else (f"${PORT_ENV}", environ.get(PORT_ENV, "").strip())
    if not raw:
        return host, DEFAULT_PORT
    try:
        number = int(raw)
    except ValueError:
        number = -1
    if not 0 <= number <= 65535:
        raise UsageError(f"{where} must be between 0 and 65535, got {raw}")
    return host, number


def training_allowed(flag: bool | None, environ: dict[str, str], *, on_space: bool) -> bool:
    """Whether the Fine-tune tab may train: --train/--no-train, else $SRGAN_FINETUNE, else not on a Space.

    Raises:
        UsageError: $SRGAN_FINETUNE set to something else than 1/0 (true/false, yes/no, on/off).
    """
    if flag is not None:
        return flag
    raw = environ.get(FINETUNE_ENV, "").strip().lower()
    if raw in _YES or raw in _NO:
        return raw in _YES
    if raw:
        raise UsageError(f"${FINETUNE_ENV} must be 1 or 0, got {raw!r}")
    return not on_space


def _check_limits(args: argparse.Namespace) -> None:
    if args.max_input_pixels < 1:
        raise UsageError(f"--max-input-pixels must be at least 1, got {args.max_input_pixels}")
    if not 0 < args.max_upload_mb <= MAX_UPLOAD_MB_CAP:
        raise UsageError(
            f"--max-upload-mb must be above 0 and at most {MAX_UPLOAD_MB_CAP:g}, got {args.max_upload_mb:g}"
        )


def settings_from_args(args: argparse.Namespace) -> AppSettings:
    """The `AppSettings` every tab receives."""
    return AppSettings(
        max_input_pixels=args.max_input_pixels,
        max_upload_mb=args.max_upload_mb,
        default_lang=args.lang,
        allow_training=args.allow_training,
    )


def is_local(host: str) -> bool:
    """True when `host` only accepts connections from this machine (127.0.0.0/8, ::1, "localhost")."""
    if host.lower() in LOCAL_HOSTS:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # a host name: it may resolve to any interface


def exposure_warning(args: argparse.Namespace) -> str | None:
    """One line for stderr when others can reach the app without a password (None when it is safe).

    On a Hugging Face Space, binding 0.0.0.0 is how Spaces reach the app (only through their proxy), and who may
    open it is the Space's visibility, public or private, not ours: nothing to say about the address. What is
    worth a line there is fine-tuning turned on without a password, on a machine every visitor shares.
    """
    if args.auth is not None:
        return None
    if getattr(args, "space", None):
        if not args.allow_training:
            return None
        return (
            f"app.py: warning: fine-tuning is on in the Space {args.space} WITHOUT a password: any visitor can "
            f"take its CPU for minutes; set {AUTH_ENV} as a Space secret, or turn {FINETUNE_ENV} off"
        )
    if is_local(args.host) and not args.share:
        return None
    where = "on a public gradio.live link" if args.share else f"from other machines (bound to {args.host})"
    training = " and --no-train" if args.allow_training else ""
    return (
        f"app.py: warning: SRGAN Studio is reachable {where} WITHOUT a password: anyone who finds it can use "
        f"it; add --auth USER:PASSWORD (or set ${AUTH_ENV}){training} for a public server"
    )


def launch_kwargs(args: argparse.Namespace) -> dict[str, Any]:
    """The arguments of `Blocks.launch` that the flags decide."""
    return {
        "server_name": args.host,
        "server_port": args.port,
        "share": args.share and not getattr(args, "space", None),  # a Space is already online (Gradio ignores it)
        "auth": args.auth,
        "max_file_size": int(args.max_upload_mb * 1024 * 1024),
        "show_error": True,
    }


def prune_temp_folders(
    *,
    prefixes: tuple[str, ...] = TEMP_PREFIXES,
    max_age_s: float = TEMP_MAX_AGE_S,
    root: str | Path | None = None,
    now: float | None = None,
) -> int:
    """Delete our temporary folders (Compare downloads, checkpoint copies) older than `max_age_s`.

    Gradio copies what a handler returns into its own cache, so these are not needed after the
    request; they are kept a while only so that nothing disappears under a slow download.

    Args:
        prefixes: the folder-name prefixes that are ours.
        max_age_s: age, from the last modification, beyond which a folder goes.
        root: where they are (default: the system's temporary folder).
        now: the current time (tests).

    Returns:
        How many folders were deleted.
    """
    root, now = Path(root or tempfile.gettempdir()), time.time() if now is None else now
    deleted = 0
    for folder in root.iterdir():
        try:
            if folder.name.startswith(prefixes) and folder.is_dir() and now - folder.stat().st_mtime > max_age_s:
                shutil.rmtree(folder)
                deleted += 1
        except OSError:
            continue  # removed meanwhile, or not ours to remove
    return deleted


def start_cleanup(every_s: float | None = None) -> Any:
    """Start the clean-up schedule: old fine-tuning runs (srgan.classroom.runs) and our temporary folders.

    Returns:
        The schedule's stop event.
    """
    from srgan.classroom.runs import CLEANUP_EVERY_S, schedule_cleanup

    return schedule_cleanup(every_s or CLEANUP_EVERY_S, also=prune_temp_folders)


def warm_up_steps() -> list[tuple[str, Callable[[], object]]]:
    """The slow first steps that a student's first request would wait for, in the order the warm-up takes them.

    1. Compile (or load from its cache) the CPU's Winograd kernel (`srgan.engine.winograd`; once per machine),
       before the first upscale.
    2. Build the VGG19 of the Feature maps and Loss lab tabs (`srgan.vgg`).
    3. Walk the Architecture tab's first example through both generators and D (`ui.architecture.warm_up`), the
       heaviest first opening of a tab, then the Realism dial's curve for its first example (`ui.realism.warm_up`).

    What each costs: `benchmarks/warm_up_cost.py`, figures in docs/benchmarks.md.

    Returns:
        (name, step) pairs; each step takes no argument. No example installed: the last two are left out.
    """
    from srgan.engine.winograd import kernel_enabled
    from srgan.vgg import vgg_features

    from . import architecture, realism
    from .common import first_example

    steps: list[tuple[str, Callable[[], object]]] = [
        ("winograd_kernel", kernel_enabled), ("vgg19", lambda: vgg_features("relu5_4"))]  # fmt: skip
    example = first_example()
    if example is not None:
        steps += [("architecture_tab", lambda: architecture.warm_up(example)),
                  ("realism_curve", lambda: realism.warm_up(example))]  # fmt: skip
    return steps


def warm_up_in_background() -> threading.Thread:
    """Do now, while the first page loads, the `warm_up_steps` that a student's first request would wait for.

    A failure here is only reported: the request that needs the piece will meet it again, as a message.

    Returns:
        The started (daemon) thread.
    """

    def work() -> None:
        try:
            for _, step in warm_up_steps():
                step()
        except Exception as e:  # noqa: BLE001 (reported, and met again by the request that needs it)
            print(f"srgan: warm-up stopped: {e}", file=sys.stderr, flush=True)

    thread = threading.Thread(target=work, name="srgan-warm-up", daemon=True)
    thread.start()
    return thread


@contextlib.contextmanager
def app_subprocess(
    *flags: str,
    runs_dir: str | Path,
    log_path: str | Path,
    env: dict[str, str] | None = None,
    timeout: float = 180,
    port_from_env: bool = False,
    command: list[str] | None = None,
    cwd: str | Path | None = None,
) -> Iterator[tuple[str, subprocess.Popen]]:
    """Start `python app.py *flags` as a user would, on a free local port, for tests and benchmarks.

    Args:
        flags: extra command-line flags for app.py.
        runs_dir: SRGAN_RUNS_DIR of the app (fine-tuning runs and MOS votes stay out of the repository).
        log_path: where the app's output goes.
        env: extra environment variables (they win over the defaults: offline, no analytics).
        timeout: seconds to wait for the first answer.
        port_from_env: give the address as GRADIO_SERVER_NAME/GRADIO_SERVER_PORT, as Spaces do, not as --port.
        command: what to run instead of `python app.py` (e.g. `python -m srgan app` from an installed wheel).
        cwd: where to run it (default: the checkout).

    Yields:
        (URL, process) once the app answers; the app is stopped on exit.

    Raises:
        RuntimeError: the app exited or did not answer in time (with the end of its log).
    """
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {
        **os.environ,
        "SRGAN_OFFLINE": "1",
        "GRADIO_ANALYTICS_ENABLED": "False",
        "SRGAN_RUNS_DIR": str(runs_dir),
        **({HOST_ENV: DEFAULT_HOST, PORT_ENV: str(port)} if port_from_env else {}),
        **(env or {}),
    }
    root = Path(__file__).resolve().parent.parent
    address = [] if port_from_env else ["--port", str(port)]
    with open(log_path, "w") as log:
        proc = subprocess.Popen(
            [*(command or [sys.executable, "app.py"]), *address, *flags],
            cwd=cwd or root,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                with urllib.request.urlopen(url, timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the app did not start:\n{Path(log_path).read_text()[-3000:]}")
            time.sleep(0.2)
        yield url, proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
