"""Each instruction set's build of the Winograd kernel against a direct convolution in C (tests/engine/kernels/check_harness.c).

Natively: every variant this CPU runs (on an AVX-512 CPU, the AVX-512 and the AVX2 builds). Cross-compiled: the
AArch64 (NEON) build, run under qemu-aarch64 with Debian's cross toolchain, so that an x86 machine (CI's) checks
the ARM code too. Those tools are system packages: `make system-deps` (run by `make test`, and .ci/run) installs
them; without them that test fails and says how to install them (deselect it with `-m "not cross"`).
"""

import shutil
import subprocess
from pathlib import Path

import pytest

from srgan.engine import winograd

HARNESS = Path(__file__).parent / "kernels" / "check_harness.c"
CROSS_PACKAGES = "gcc-aarch64-linux-gnu qemu-user-static libc6-dev-arm64-cross"


def _build(compiler: str, flags: tuple[str, ...], binary: Path) -> None:
    """Compile the harness with the kernel's source included (-DWINOGRAD_C) and one variant's flags."""
    command = [compiler, "-O2", *flags, f'-DWINOGRAD_C="{winograd._SOURCE}"', str(HARNESS), "-o", str(binary),
               "-lm", "-pthread"]  # fmt: skip
    subprocess.run(command, check=True, timeout=180, capture_output=True, text=True)


def _check(command: list[str]) -> None:
    result = subprocess.run(command, check=False, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    runs, _, error = result.stdout.strip().partition(" runs, max error ")
    assert runs == "108" and float(error) < 1e-4, result.stdout  # (11 shapes x 3 + 3 with PixelShuffle) x 3 threads


@pytest.mark.parametrize("name", winograd.available_variants())
def test_each_variant_this_cpu_runs_matches_a_direct_convolution(tmp_path, name):
    binary = tmp_path / f"check-{name}"
    _build(winograd.compiler(), winograd._VARIANTS[name].flags, binary)
    _check([str(binary)])


@pytest.mark.cross
def test_the_neon_build_matches_a_direct_convolution_under_qemu(tmp_path):
    if "neon" in winograd.available_variants():
        pytest.skip("an AArch64 machine: the NEON build runs natively in the test above")
    cc, qemu = (
        shutil.which("aarch64-linux-gnu-gcc"),
        shutil.which("qemu-aarch64-static") or shutil.which("qemu-aarch64"),
    )
    sysroot = Path("/usr/aarch64-linux-gnu")
    if not (cc and qemu and (sysroot / "lib").is_dir()):
        pytest.fail(f"the AArch64 check needs Debian's cross toolchain and qemu: `make system-deps`, or "
                    f"`sudo apt-get install -y {CROSS_PACKAGES}` (or deselect it: pytest -m 'not cross')")  # fmt: skip
    binary = tmp_path / "check-neon"
    _build(cc, winograd._VARIANTS["neon"].flags, binary)
    _check([qemu, "-L", str(sysroot), str(binary)])  # -L: the AArch64 libc and loader, from libc6-dev-arm64-cross
