# The README's two commands. Both create .venv and install what they need on a fresh machine.
#   make run    start the app on http://127.0.0.1:7860 with the bundled weights
#   make test   the whole test suite (including the browser tests in headless Chromium)

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: run test system-deps bench clean

$(STAMP): requirements.txt pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip setuptools
	$(PY) -m pip install --quiet -r requirements.txt
	$(PY) -m pip install --quiet --no-deps --no-build-isolation -e .
	touch $(STAMP)

run: $(STAMP)
	$(PY) app.py

# Debian's packages the tests need: Chromium for the browser tests (Playwright cannot download its own browser
# here); the AArch64 cross compiler, its libc and qemu for the Winograd kernel's NEON build (the "cross" tests).
SYSTEM_PACKAGES := chromium fonts-dejavu-core gcc-aarch64-linux-gnu qemu-user-static libc6-dev-arm64-cross
system-deps:
	@{ command -v chromium && command -v aarch64-linux-gnu-gcc && command -v qemu-aarch64-static \
	   && test -d /usr/aarch64-linux-gnu/lib; } >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq $(SYSTEM_PACKAGES) >/dev/null; \
	  else echo "make test needs Debian's packages: sudo apt-get install $(SYSTEM_PACKAGES)" >&2; exit 1; fi; }

test: $(STAMP) system-deps
	$(PY) -m pytest -q

bench: $(STAMP)
	$(PY) -m srgan bench

clean:
	rm -rf $(VENV) .pytest_cache
