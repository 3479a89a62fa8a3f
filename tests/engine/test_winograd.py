"""Winograd F(4x4, 3x3) (srgan/engine/winograd.py, srgan/engine/kernels/winograd.c) computes the direct convolution.

Tests of the C kernel run once per variant this CPU runs (on an AVX-512 CPU: the AVX-512 and the AVX2 builds),
so that no test depends on which CPU it meets; with no working C compiler there are none, and PyTorch's path is
tested alone (`test_every_variant_this_cpu_runs_builds_here` says why, outside CI).
"""

import os
import shutil
import subprocess

import pytest
import torch
import torch.nn.functional as F

from srgan.engine import winograd

VARIANTS = winograd.available_variants()  # built here (cached) and checked against F.conv2d


def _forget_kernel_state():
    winograd._library.cache_clear()
    winograd.kernel_variant.cache_clear()


@pytest.fixture(autouse=True)
def _decide_again_after_each_test():
    """A test that changes SRGAN_WINOGRAD leaves no decision behind (this runs after monkeypatch's undo)."""
    yield
    winograd.kernel_variant.cache_clear()


@pytest.fixture
def fresh_kernel_state(monkeypatch, tmp_path):
    """Forget the cached kernel and settings before and after the test (other tests see the real ones)."""
    monkeypatch.setenv("SRGAN_KERNEL_CACHE", str(tmp_path))
    _forget_kernel_state()
    yield tmp_path
    _forget_kernel_state()


@pytest.fixture(params=VARIANTS)
def variant(request, monkeypatch):
    """Each kernel variant this CPU runs in turn, as SRGAN_WINOGRAD=<variant> would choose it."""
    monkeypatch.setenv("SRGAN_WINOGRAD", request.param)
    winograd.kernel_variant.cache_clear()
    assert winograd.kernel_variant() == request.param, winograd.kernel_status()
    yield request.param
    winograd.kernel_variant.cache_clear()  # the next test decides again, from its own environment


def _compiler_works() -> bool:
    """Whether the C compiler the kernel would use builds a trivial program (CC=false, or no cc: it does not)."""
    cc = winograd.compiler()
    if cc is None:
        return False
    probe = subprocess.run([cc, "-x", "c", "-", "-o", os.devnull], input="int main(void) { return 0; }",
                           capture_output=True, text=True, check=False)  # fmt: skip
    return probe.returncode == 0


@pytest.mark.parametrize(("h", "w"), [(4, 4), (7, 13), (16, 9)])
def test_reference_algorithm_equals_direct_convolution(h, w):
    torch.manual_seed(h * w)
    x, weight, bias = torch.randn(2, 5, h, w), torch.randn(6, 5, 3, 3), torch.randn(6)
    expected = F.conv2d(x, weight, bias, padding=1)
    assert torch.allclose(winograd.winograd_conv3x3_reference(x, weight, bias), expected, atol=1e-4)


def test_transforms_are_lavin_and_grays():
    # Aᵀ [(G g Gᵀ) ⊙ (Bᵀ d B)] A for one 6x6 tile and one 3x3 kernel is the 4x4 "valid" correlation.
    torch.manual_seed(0)
    d, g = torch.randn(6, 6, dtype=torch.float64), torch.randn(3, 3, dtype=torch.float64)
    y = winograd.A_T @ ((winograd.G @ g @ winograd.G.T) * (winograd.B_T @ d @ winograd.B_T.T)) @ winograd.A_T.T
    direct = F.conv2d(d[None, None], g[None, None])[0, 0]  # (4, 4)
    assert torch.allclose(y, direct, atol=1e-12)


@pytest.mark.parametrize("name", winograd.cpu_variants() or ["(none)"])
def test_every_variant_this_cpu_runs_builds_here(name):
    # CI and the development machines have a C compiler: every variant the CPU runs must build and pass its check.
    if name == "(none)":
        pytest.skip(f"this CPU ({os.uname().machine}) runs none of the kernel's variants: PyTorch's path only")
    if not _compiler_works() and not os.environ.get("CI"):
        pytest.skip(f"no working C compiler ({winograd.compiler()}): PyTorch's path only (CI has one)")
    assert winograd._library(name) is not None, winograd._errors[-1:]
    assert name in VARIANTS


def test_the_best_variant_is_the_default(monkeypatch):
    monkeypatch.delenv("SRGAN_WINOGRAD", raising=False)
    winograd.kernel_variant.cache_clear()
    try:
        assert winograd.kernel_variant() == (VARIANTS[0] if VARIANTS else None)
        assert winograd.kernel_enabled() == bool(VARIANTS)
    finally:
        winograd.kernel_variant.cache_clear()


def _conv(c_in, c_out, seed, **kwargs):
    torch.manual_seed(seed)
    conv = torch.nn.Conv2d(c_in, c_out, 3, padding=1)
    prelu = torch.nn.PReLU(c_out // 4 if kwargs.get("shuffle") else c_out)
    prelu.weight.data.uniform_(-0.5, 0.5)
    return conv, prelu


@pytest.mark.parametrize(
    ("c_in", "c_out", "h", "w", "batch"),
    # output channels: 64-wide blocks, then a last block of 16, 32 or 48 (the tail's four 12-channel blocks)
    [
        (16, 16, 5, 7, 1),
        (64, 64, 13, 29, 2),
        (16, 80, 9, 4, 1),
        (64, 96, 6, 10, 1),
        (32, 48, 7, 7, 1),
        (64, 256, 8, 8, 1),
    ],
)
@pytest.mark.parametrize(
    "padding", [(1, 1, 1, 1), (0, 0, 1, 1), (1, 0, 1, 1), (0, 1, 1, 1), (2, 3, 2, 3), (0, 2, 3, 0)]
)
def test_kernel_matches_pytorch(c_in, c_out, h, w, batch, padding, variant):
    conv, prelu = _conv(c_in, c_out, c_in + h)
    x = torch.randn(batch, c_in, h, w).contiguous(memory_format=torch.channels_last)
    with torch.no_grad():
        h_out, w_out = h + padding[0] + padding[1] - 2, w + padding[2] + padding[3] - 2
        residual = torch.randn(batch, c_out, h_out, w_out)
        for layer, skip in [(winograd.Conv3x3(conv), None), (winograd.Conv3x3(conv, prelu=prelu), None),
                            (winograd.Conv3x3(conv), residual)]:  # fmt: skip
            eager = _eager(layer, x, skip, padding)
            got = layer._kernel_forward(x, skip, padding)
            assert got.shape == eager.shape == (batch, c_out, h_out, w_out)
            assert torch.allclose(got, eager, atol=1e-4), (got - eager).abs().max()


def _eager(layer, x, skip, padding):
    """The same layer on PyTorch's path (the kernel switched off for this call)."""
    layer._use_kernel = lambda *_: False
    try:
        return layer(x, skip=skip, padding=padding)
    finally:
        del layer._use_kernel


@pytest.mark.parametrize(("c", "h", "w"), [(16, 5, 6), (64, 12, 9)])
def test_kernel_fuses_pixel_shuffle_and_prelu(c, h, w, variant):
    conv, prelu = _conv(c, 4 * c, h, shuffle=True)
    layer = winograd.Conv3x3(conv, prelu=prelu, shuffle=True)
    x = torch.randn(1, c, h, w).contiguous(memory_format=torch.channels_last)
    with torch.no_grad():
        expected = F.prelu(F.pixel_shuffle(conv(x), 2), prelu.weight)  # the upsampling block of Fig. 4
        got = layer._kernel_forward(x, None, (1, 1, 1, 1))
    assert got.shape == (1, c, 2 * h, 2 * w)
    assert torch.allclose(got, expected, atol=1e-4)


def test_kernel_result_does_not_depend_on_the_thread_count(variant):
    conv, prelu = _conv(64, 64, 3)
    layer = winograd.Conv3x3(conv, prelu=prelu)
    x = torch.randn(1, 64, 37, 41).contiguous(memory_format=torch.channels_last)
    threads = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        one = layer._kernel_forward(x, None, (1, 1, 1, 1))
        torch.set_num_threads(3)
        three = layer._kernel_forward(x, None, (1, 1, 1, 1))
    finally:
        torch.set_num_threads(threads)
    assert torch.equal(one, three)  # each tile is computed the same way whichever thread takes it


def test_gradients_and_other_dtypes_take_pytorchs_path():
    conv, prelu = _conv(16, 16, 1)
    layer = winograd.Conv3x3(conv, prelu=prelu)
    x = torch.randn(1, 16, 6, 6, requires_grad=True)
    assert not layer._use_kernel(x, None)  # the C kernel has no backward
    layer(x).sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0
    with torch.no_grad():
        assert not layer.to(torch.bfloat16)._use_kernel(x.detach().bfloat16(), None)


@pytest.mark.parametrize(("h", "w"), [(9, 7), (16, 21)])
@pytest.mark.parametrize("pad_rows", [(2, 2), (0, 0), (2, 0), (1, 2)])
@pytest.mark.parametrize("path", [*VARIANTS, "pytorch"])
def test_5x5_as_four_3x3_convolutions(h, w, pad_rows, path, monkeypatch):
    torch.manual_seed(h + w)
    conv = torch.nn.Conv2d(32, 12, 5, padding=2)  # the generator's sub-pixel tail has 12 outputs
    layer = winograd.Conv5x5(conv)
    kernel = path != "pytorch"
    monkeypatch.setenv("SRGAN_WINOGRAD", path if kernel else "off")
    winograd.kernel_variant.cache_clear()
    x = torch.randn(2, 32, h, w).contiguous(memory_format=torch.channels_last)
    with torch.no_grad():
        assert layer._use_kernel(x) is kernel
        expected = F.conv2d(F.pad(x, (2, 2, *pad_rows)), conv.weight, conv.bias)  # rows padded only where asked
        got = layer(x, pad_rows=pad_rows)
    assert got.shape == expected.shape == (2, 12, h + sum(pad_rows) - 4, w)
    assert torch.allclose(got, expected, atol=1e-4), (got - expected).abs().max()


def test_only_3x3_and_5x5_same_convolutions_are_accepted():
    with pytest.raises(ValueError, match="3x3"):
        winograd.Conv3x3(torch.nn.Conv2d(16, 16, 5, padding=2))
    with pytest.raises(ValueError, match="5x5"):
        winograd.Conv5x5(torch.nn.Conv2d(16, 16, 3, padding=1))


def test_switched_off_by_the_environment(fresh_kernel_state, monkeypatch):
    monkeypatch.setenv("SRGAN_WINOGRAD", "0")
    assert not winograd.kernel_enabled()
    assert "SRGAN_WINOGRAD=0" in winograd.kernel_status()


@pytest.mark.parametrize(("setting", "chosen"), [("1", "avx512"), ("auto", "avx512"), ("avx2", "avx2"),
                                                  ("AVX2", "avx2"), ("off", None), ("neon", None), ("sse", None)])  # fmt: skip
def test_the_setting_chooses_among_what_the_cpu_runs(monkeypatch, tmp_path, setting, chosen):
    # Whatever this CPU is: pretend it runs both x86 variants and that each builds (nothing is compiled here).
    monkeypatch.setattr(winograd, "cpu_variants", lambda: ["avx512", "avx2"])
    monkeypatch.setattr(winograd, "_library", lambda name: object())
    monkeypatch.setattr(winograd, "_library_path", lambda name: tmp_path / f"winograd-{name}.so")
    monkeypatch.setenv("SRGAN_WINOGRAD", setting)
    winograd.kernel_variant.cache_clear()
    assert winograd.kernel_variant() == chosen
    status = winograd.kernel_status()
    if chosen:
        assert f"in use ({chosen}" in status
    elif setting == "neon":  # never loaded on a CPU that does not report it: it could only crash
        assert "cannot run the neon variant" in status and "avx512, avx2" in status
    elif setting == "sse":
        assert "'sse'" in status and "avx512, avx2, neon" in status


def test_each_variant_has_its_own_library(fresh_kernel_state):
    names = {v.name: winograd._library_path(v.name).name for v in winograd.VARIANTS}
    assert len(set(names.values())) == len(names) and all(v in path for v, path in names.items())


def test_the_avx2_build_holds_no_avx512_instruction(fresh_kernel_state):
    # Built with -mavx2 -mfma -mno-avx512f, not -march=native: it runs on AVX2 CPUs whatever CPU compiled it.
    if os.uname().machine not in {"x86_64", "amd64"}:
        pytest.skip("an x86 build")
    if not _compiler_works() and not os.environ.get("CI"):
        pytest.skip(f"no working C compiler ({winograd.compiler()})")
    path = winograd._library_path("avx2")
    winograd._compile(path, winograd._VARIANTS["avx2"].flags)  # compiling needs no AVX2 CPU, only running does
    objdump = shutil.which("objdump")
    assert objdump, "objdump (binutils, installed with gcc) reads the library's instructions"
    code = subprocess.run([objdump, "-d", str(path)], capture_output=True, text=True, check=True).stdout
    assert "%ymm" in code and "vfmadd" in code  # 256-bit vectors and fused multiply-adds
    assert "%zmm" not in code and "%k1" not in code  # no 512-bit register, no AVX-512 mask register


@pytest.mark.parametrize("name", VARIANTS)
def test_builds_into_the_cache_folder_once(fresh_kernel_state, monkeypatch, name):
    monkeypatch.setenv("SRGAN_WINOGRAD", name)
    assert winograd.kernel_variant() == name
    built = list(fresh_kernel_state.glob("winograd-*.so"))
    assert [p.name for p in built] == [winograd._library_path(name).name]
    assert not [p for p in fresh_kernel_state.iterdir() if p.is_dir()]  # the build folder was cleaned up


def test_no_compiler_means_pytorchs_path_and_a_reason(fresh_kernel_state, monkeypatch, caplog):
    monkeypatch.setattr(winograd, "cpu_variants", lambda: ["avx2"])  # on any CPU: the build fails before any run
    monkeypatch.setenv("SRGAN_WINOGRAD", "1")
    monkeypatch.setenv("CC", "/nonexistent/cc")
    assert not winograd.kernel_enabled()
    assert "unavailable" in winograd.kernel_status() and "nonexistent" in winograd.kernel_status()
    warnings = [r for r in caplog.records if "nonexistent" in r.getMessage() and "slower" in r.getMessage()]
    assert winograd.kernel_enabled() is False and len(warnings) == 1  # decided and said once
    conv, prelu = _conv(16, 16, 2)
    layer = winograd.Conv3x3(conv, prelu=prelu)
    x = torch.randn(1, 16, 6, 6)
    with torch.no_grad():
        assert torch.allclose(layer(x), F.prelu(conv(x), prelu.weight), atol=1e-6)  # still the same function


def test_concurrent_calls_do_not_disturb_each_other(variant):
    # The app may upscale for two students at once: each call has its own buffers and threads.
    from concurrent.futures import ThreadPoolExecutor

    conv, prelu = _conv(64, 64, 5)
    layer = winograd.Conv3x3(conv, prelu=prelu)
    inputs = [torch.randn(1, 64, 40 + k, 36).contiguous(memory_format=torch.channels_last) for k in range(4)]
    with torch.no_grad():
        alone = [layer._kernel_forward(x, None, (1, 1, 1, 1)) for x in inputs]
        with ThreadPoolExecutor(4) as pool:
            together = list(pool.map(lambda x: layer._kernel_forward(x, None, (1, 1, 1, 1)), inputs * 3))
    assert all(torch.equal(a, b) for a, b in zip(alone * 3, together))


@pytest.mark.parametrize("name", [v for v in VARIANTS if v != "neon"])  # gcc's sanitizers: x86 here
def test_kernel_stays_inside_its_buffers(tmp_path, name):
    # The C kernel on odd shapes, paddings and thread counts under AddressSanitizer and UBSan (gcc's, as on CI).
    from pathlib import Path

    harness, binary = Path(__file__).parent / "kernels" / "asan_harness.c", tmp_path / "harness"
    flags = ["-O1", "-g", *winograd._VARIANTS[name].flags, "-fsanitize=address,undefined", "-fno-sanitize-recover=all",
             "-pthread"]  # fmt: skip
    source = f'-DWINOGRAD_C="{winograd._SOURCE}"'
    subprocess.run(["gcc", *flags, source, str(harness), "-o", str(binary)], check=True, timeout=120)
    result = subprocess.run([str(binary)], check=False, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip() == "33 runs"  # (9 shapes + 2 of them with PixelShuffle) x 3 thread counts


@pytest.mark.skipif(not VARIANTS, reason="no kernel variant builds here: the app starts without one")
def test_the_app_builds_the_kernel_and_the_vgg_at_start(fresh_kernel_state, monkeypatch):
    from srgan.vgg import vgg_features
    from ui.launch import warm_up_in_background

    monkeypatch.setenv("SRGAN_WINOGRAD", "1")
    vgg_features.cache_clear()
    assert not list(fresh_kernel_state.glob("*.so"))
    warm_up_in_background().join(timeout=120)
    assert [p.name for p in fresh_kernel_state.glob("*.so")] == [winograd._library_path(VARIANTS[0]).name]
    assert winograd.kernel_variant.cache_info().currsize == 1  # decided once, for every later upscale
    assert vgg_features.cache_info().currsize == 1  # the Feature maps tab's first request finds it built


def test_a_failing_compiler_is_named_with_its_error(fresh_kernel_state, monkeypatch, tmp_path):
    fake_cc = tmp_path / "cc"
    fake_cc.write_text("#!/bin/sh\necho 'winograd.c:1:1: error: this compiler refuses' >&2\nexit 1\n")
    fake_cc.chmod(0o755)
    monkeypatch.setattr(winograd, "cpu_variants", lambda: ["avx2"])  # on any CPU: the build fails before any run
    monkeypatch.setenv("SRGAN_WINOGRAD", "1")
    monkeypatch.setenv("CC", str(fake_cc))
    assert not winograd.kernel_enabled()
    assert "error: this compiler refuses" in winograd.kernel_status()
    assert not list(fresh_kernel_state.glob("*.so")) and not [p for p in fresh_kernel_state.iterdir() if p.is_dir()]
