"""Exposure: safe defaults, a password, a warning when exposed without one, --no-train, flags checked.

The flags are parsed by ui/launch.py (no server needed); `app.main` is run with a fake app to see
what it hands to `launch()`; one launched server (the `limited_app` fixture: $SRGAN_AUTH, --no-train)
shows the password and the refusal from outside.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

from ui import launch
from ui.launch import exposure_warning, is_local, launch_kwargs, parse_args, parse_auth, settings_from_args

NO_ENV: dict[str, str] = {}


def test_the_defaults_are_safe():
    args = parse_args([], NO_ENV)
    kwargs = launch_kwargs(args)
    assert kwargs["server_name"] == "127.0.0.1" and kwargs["share"] is False and kwargs["auth"] is None
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
    import app

    made = []
    monkeypatch.setattr(app, "build_app", lambda settings: made.append(_FakeApp(settings)) or made[-1])
    monkeypatch.setattr(app, "start_cleanup", lambda: None)
    builds = []
    monkeypatch.setattr(app, "warm_up_in_background", lambda: builds.append(1))
    monkeypatch.delenv("SRGAN_AUTH", raising=False)
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
    import app

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
