"""Exposure: safe defaults, a password, a warning when exposed without one, --no-train, flags checked; the
address from a flag, else GRADIO_SERVER_NAME/GRADIO_SERVER_PORT, else 127.0.0.1:7860; a Hugging Face Space.

The flags are parsed by ui/launch.py (no server needed); `ui.app.main` is run with a fake app to see
what it hands to `launch()`; one launched server (the `limited_app` fixture: $SRGAN_AUTH, --no-train)
shows the password and the refusal from outside; another, given only the environment a Space gives it
(its address in Gradio's variables, $SPACE_ID), answers on that port without a warning and with training off.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

from ui import launch
from ui.launch import (
    app_subprocess,
    exposure_warning,
    is_local,
    launch_kwargs,
    parse_args,
    parse_auth,
    settings_from_args,
)

NO_ENV: dict[str, str] = {}


def test_the_defaults_are_safe():
    args = parse_args([], NO_ENV)
    kwargs = launch_kwargs(args)
    assert kwargs["server_name"] == "127.0.0.1" and kwargs["server_port"] == 7860
    assert kwargs["share"] is False and kwargs["auth"] is None
    assert kwargs["max_file_size"] == 25 * 1024 * 1024 and isinstance(kwargs["max_file_size"], int)
    settings = settings_from_args(args)
    assert settings.allow_training and settings.max_input_pixels == 512 * 512
    assert exposure_warning(args) is None


def test_flags_reach_the_settings_and_launch():
    args = parse_args(["--host", "0.0.0.0", "--share", "--auth", "ana:pa:ss", "--no-train", "--max-upload-mb", "2.5",
                       "--max-input-pixels", "1000", "--lang", "es"], NO_ENV)  # fmt: skip
    assert args.auth == ("ana", "pa:ss")  # the password may hold colons
    kwargs = launch_kwargs(args)
    assert kwargs["share"] and kwargs["server_name"] == "0.0.0.0" and kwargs["max_file_size"] == int(2.5 * 2**20)
    settings = settings_from_args(args)
    assert not settings.allow_training and settings.max_input_pixels == 1000 and settings.default_lang == "es"


def test_the_password_can_come_from_the_environment_and_the_flag_wins():
    assert parse_args([], {"SRGAN_AUTH": "teacher:secret"}).auth == ("teacher", "secret")
    assert parse_args(["--auth", "me:mine"], {"SRGAN_AUTH": "teacher:secret"}).auth == ("me", "mine")


def test_the_address_comes_from_the_flags_then_gradios_variables_then_the_defaults():
    env = {"GRADIO_SERVER_NAME": "0.0.0.0", "GRADIO_SERVER_PORT": "38923"}
    assert launch_kwargs(parse_args([], env))["server_name"] == "0.0.0.0"
    assert launch_kwargs(parse_args([], env))["server_port"] == 38923
    args = parse_args(["--host", "127.0.0.1", "--port", "8000"], env)
    assert (args.host, args.port) == ("127.0.0.1", 8000)
    assert (parse_args(["--port", "8001"], env).host, parse_args(["--host", "::1"], env).port) == ("0.0.0.0", 38923)
    assert exposure_warning(parse_args([], env)) is not None  # 0.0.0.0 from the environment: the same warning
    assert exposure_warning(parse_args([], {**env, "SRGAN_AUTH": "a:b"})) is None
    assert parse_args([], {"GRADIO_SERVER_PORT": "38923"}).host == "127.0.0.1"


@pytest.mark.parametrize("port", ["http", "70000", "-1"])
def test_a_bad_port_in_the_environment_is_one_line_and_exit_2(port, capsys):
    with pytest.raises(SystemExit) as stopped:
        parse_args([], {"GRADIO_SERVER_PORT": port})
    err = capsys.readouterr().err
    assert stopped.value.code == 2 and err.strip().splitlines() == [
        f"app.py: error: $GRADIO_SERVER_PORT must be between 0 and 65535, got {port}"
    ]


SPACE = {"SPACE_ID": "teacher/srgan-studio", "GRADIO_SERVER_NAME": "0.0.0.0", "GRADIO_SERVER_PORT": "7860"}


def test_on_a_space_it_listens_everywhere_trains_only_when_asked_and_does_not_warn_about_the_address():
    args = parse_args([], SPACE)
    assert args.space == "teacher/srgan-studio" and launch_kwargs(args)["server_name"] == "0.0.0.0"
    assert not settings_from_args(args).allow_training  # a shared public Space: fine-tuning off by default
    assert settings_from_args(args).max_input_pixels == 512 * 512 and launch_kwargs(args)["max_file_size"] > 0
    assert exposure_warning(args) is None  # Spaces reach the app on 0.0.0.0 through their proxy
    assert launch_kwargs(parse_args(["--share"], SPACE))["share"] is False  # it is online already
    for turned_on in (parse_args(["--train"], SPACE), parse_args([], {**SPACE, "SRGAN_FINETUNE": "1"})):
        assert turned_on.allow_training
        warning = exposure_warning(turned_on)
        assert "teacher/srgan-studio" in warning and "SRGAN_AUTH" in warning and "\n" not in warning
    assert exposure_warning(parse_args(["--train"], {**SPACE, "SRGAN_AUTH": "a:b"})) is None
    assert not parse_args(["--no-train"], {**SPACE, "SRGAN_FINETUNE": "1"}).allow_training  # the flag wins


def test_fine_tuning_is_on_elsewhere_unless_turned_off(capsys):
    assert parse_args([], NO_ENV).allow_training and parse_args([], {"SRGAN_FINETUNE": "yes"}).allow_training
    assert not parse_args([], {"SRGAN_FINETUNE": "0"}).allow_training
    with pytest.raises(SystemExit) as stopped:
        parse_args([], {"SRGAN_FINETUNE": "maybe"})
    assert stopped.value.code == 2 and "$SRGAN_FINETUNE must be 1 or 0" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        parse_args(["--train", "--no-train"], NO_ENV)


@pytest.mark.parametrize("value", ["nocolon", ":password", "user:", " :x"])
def test_a_bad_auth_is_one_line_and_exit_2(value, capsys):
    with pytest.raises(launch.UsageError):
        parse_auth(value)
    with pytest.raises(SystemExit) as stopped:
        parse_args(["--auth", value], NO_ENV)
    err = capsys.readouterr().err
    assert stopped.value.code == 2 and len(err.strip().splitlines()) == 1 and "USER:PASSWORD" in err
    assert value not in err  # a password is never echoed


def test_a_bad_auth_in_the_environment_is_refused_too(capsys):
    with pytest.raises(SystemExit) as stopped:
        parse_args([], {"SRGAN_AUTH": "only-a-user"})
    assert stopped.value.code == 2 and "SRGAN_AUTH" in capsys.readouterr().err


@pytest.mark.parametrize("flags", [["--max-upload-mb", "0"], ["--max-upload-mb", "-1"], ["--max-upload-mb", "5000"],
                                   ["--max-input-pixels", "0"], ["--port", "70000"], ["--lang", "fr"],
                                   ["--max-upload-mb", "lots"]])  # fmt: skip
def test_bad_limits_are_one_line_and_exit_2(flags, capsys):
    with pytest.raises(SystemExit) as stopped:
        parse_args(flags, NO_ENV)
    err = capsys.readouterr().err
    assert stopped.value.code == 2 and len(err.strip().splitlines()) == 1 and err.startswith("app.py: error:")


def test_app_py_itself_exits_2_with_one_line_on_a_bad_auth():
    result = subprocess.run([sys.executable, "app.py", "--auth", "no-colon"], capture_output=True, text=True,
                            timeout=120, cwd=launch.Path(__file__).resolve().parent.parent, check=False)  # fmt: skip
    expected = "app.py: error: --auth (or $SRGAN_AUTH) must be USER:PASSWORD, both non-empty"
    assert result.returncode == 2 and result.stderr.strip().splitlines() == [expected]


@pytest.mark.parametrize("host, local", [("127.0.0.1", True), ("127.0.0.2", True), ("::1", True), ("[::1]", True),
                                         ("localhost", True), ("0.0.0.0", False), ("::", False),
                                         ("192.168.1.20", False), ("myserver.school.edu", False)])  # fmt: skip
def test_which_hosts_are_local(host, local):
    assert is_local(host) is local


def test_a_warning_when_others_can_reach_it_without_a_password():
    exposed = exposure_warning(parse_args(["--host", "0.0.0.0"], NO_ENV))
    assert exposed is not None and "\n" not in exposed
    assert "0.0.0.0" in exposed and "WITHOUT a password" in exposed and "--auth" in exposed and "--no-train" in exposed
    shared = exposure_warning(parse_args(["--share", "--no-train"], NO_ENV))
    assert "gradio.live" in shared and "--no-train" not in shared
    assert exposure_warning(parse_args(["--host", "0.0.0.0", "--auth", "a:b"], NO_ENV)) is None
    assert exposure_warning(parse_args(["--share"], {"SRGAN_AUTH": "a:b"})) is None


class _FakeApp:
    """Stands for the Blocks app: records what main() asks of it, serves nothing."""

    def __init__(self, settings):
        self.settings, self.launched = settings, None

    def queue(self, **kwargs):
        self.queued = kwargs
        return self

    def launch(self, **kwargs):
        self.launched = kwargs


def test_main_warns_on_stderr_and_launches_with_the_flags(monkeypatch, capsys):
    from ui import app

    for name in ("SRGAN_AUTH", "SPACE_ID", "GRADIO_SERVER_NAME", "GRADIO_SERVER_PORT", "SRGAN_FINETUNE"):
        monkeypatch.delenv(name, raising=False)
    made = []
    monkeypatch.setattr(app, "build_app", lambda settings: made.append(_FakeApp(settings)) or made[-1])
    monkeypatch.setattr(app, "start_cleanup", lambda: None)
    builds = []
    monkeypatch.setattr(app, "warm_up_in_background", lambda: builds.append(1))
    assert app.main(["--host", "0.0.0.0", "--no-train", "--max-upload-mb", "3"]) == 0
    assert builds == [1]  # the CPU kernel and the VGG19 are built at start, not on the first requests
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "WITHOUT a password" in err
    fake = made[0]
    assert fake.settings.allow_training is False
    assert fake.launched["server_name"] == "0.0.0.0" and fake.launched["auth"] is None
    assert fake.launched["max_file_size"] == 3 * 2**20 and fake.queued == {"default_concurrency_limit": 2}
    app.main(["--auth", "t:p"])
    assert capsys.readouterr().err == "" and made[1].launched["auth"] == ("t", "p")


def test_uploads_are_deleted_on_a_schedule():
    from ui import app

    demo = app.build_app(settings_from_args(parse_args(["--no-train"], NO_ENV)))
    frequency, age = demo.delete_cache
    assert demo.delete_cache == launch.DELETE_CACHE and 0 < frequency <= 3600 and 0 < age <= 24 * 3600


def test_no_train_refuses_in_the_handlers_and_starts_nothing(tmp_path, monkeypatch):
    import srgan.classroom.runs
    from ui import finetune

    monkeypatch.setenv("SRGAN_RUNS_DIR", str(tmp_path / "runs"))
    monkeypatch.setattr(srgan.classroom.runs, "_manager", None)
    with pytest.raises(ValueError, match="--no-train"):
        next(finetune.finetune(allow_training=False))
    with pytest.raises(ValueError, match="desactivado"):
        next(finetune.finetune(lang="es", allow_training=False))
    with pytest.raises(ValueError, match="--no-train"):
        finetune.stop_run(allow_training=False)
    assert srgan.classroom.runs.get_manager().status().name is None and not (tmp_path / "runs").exists()


def test_no_train_shows_a_notice_and_greys_out_the_buttons():
    import gradio as gr

    from ui import finetune
    from ui.context import AppSettings, TabContext
    from ui.i18n import LANG_CHOICES, Relabel

    t = finetune.STRINGS.t

    def build(allow: bool) -> gr.Blocks:
        with gr.Blocks() as demo:
            lang = gr.Radio(LANG_CHOICES, value="en")
            with gr.Tab("Fine-tune") as tab:
                finetune.build(TabContext(lang=lang, tr=Relabel(), settings=AppSettings(allow_training=allow), tab=tab))
        return demo

    def buttons(demo):
        return {b.value: b.interactive for b in demo.blocks.values() if isinstance(b, gr.Button)}

    off = build(False)
    assert buttons(off)[t("ft_start")] is False and buttons(off)[t("ft_stop")] is False
    notices = [b for b in off.blocks.values() if isinstance(b, gr.Markdown) and b.elem_id == "ft-disabled"]
    assert len(notices) == 1 and "--no-train" in notices[0].value
    on = build(True)
    assert buttons(on)[t("ft_start")] is not False
    assert not [b for b in on.blocks.values() if isinstance(b, gr.Markdown) and b.elem_id == "ft-disabled"]


def test_a_launched_public_server_asks_for_the_password_and_refuses_training(limited_app):
    from gradio_client import Client
    from gradio_client.exceptions import AppError

    url, auth, proc = limited_app
    with pytest.raises(Exception, match="credentials|login|401"):
        Client(url, verbose=False)
    with pytest.raises(Exception, match="credentials|login|401|Unauthorized"):
        Client(url, auth=(auth[0], "wrong-password"), verbose=False)
    client = Client(url, auth=auth, verbose=False)
    job = client.submit("srresnet", "builtin", None, "mse", 2, 1e-4, 2, 48, 0, "x", "en", api_name="/finetune")
    with pytest.raises(AppError, match="--no-train"):
        job.result(timeout=60)
    with pytest.raises(AppError, match="--no-train"):
        client.predict("en", api_name="/finetune_stop")
    assert "WITHOUT a password" not in proc.log.read_text()  # it has one: no warning


def test_an_app_given_only_gradios_variables_answers_on_that_port(tmp_path):
    """As a Space starts it: `python app.py`, no flag; the address in GRADIO_SERVER_NAME/PORT, and $SPACE_ID."""
    env = {"SPACE_ID": "teacher/srgan-studio", "SRGAN_AUTH": "", "SRGAN_FINETUNE": ""}
    log = tmp_path / "app.log"
    with app_subprocess(runs_dir=tmp_path / "runs", log_path=log, env=env, port_from_env=True) as (url, proc):
        assert "--port" not in proc.args and proc.args[1:] == ["app.py"]
        with launch.urllib.request.urlopen(f"{url}config", timeout=30) as response:
            config = response.read().decode()
    port = url.rstrip("/").rsplit(":", 1)[1]
    assert port != "7860" and f"127.0.0.1:{port}" in log.read_text()
    assert "ft-disabled" in config  # fine-tuning off on a Space: the Fine-tune tab says so
    assert "warning" not in log.read_text()  # nothing about 0.0.0.0 or passwords on a Space


def test_the_code_page_of_a_public_server_asks_for_the_password_too(limited_app):
    """/code (the lessons' links to the source, issue #18) is refused without the app's login."""
    import httpx

    url, (user, password), _ = limited_app
    page = url.rstrip("/") + "/code?file=srgan/losses.py&symbol=mse_content_loss"
    assert httpx.get(page, timeout=30).status_code == 401
    with httpx.Client(timeout=30) as browser:
        assert browser.post(url.rstrip("/") + "/login", data={"username": user, "password": password}).is_success
        shown = browser.get(page)
    assert shown.status_code == 200 and "mse_content_loss" in shown.text


@pytest.mark.parametrize(("argv0", "name"), [("/venv/bin/srgan-studio", "srgan-studio"), ("app.py", "app.py")])
def test_a_bad_flag_names_the_command_that_was_run(monkeypatch, capsys, argv0, name):
    from ui import app

    monkeypatch.setattr(sys, "argv", [argv0, "--bogus"])
    with pytest.raises(SystemExit) as exit_info:
        app.main(["--bogus"])
    err = capsys.readouterr().err.strip()
    assert exit_info.value.code == 2 and err == f"{name}: error: unrecognized arguments: --bogus"
