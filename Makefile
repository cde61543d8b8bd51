# The two commands a newcomer needs: `make demo` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo demo-dashboard test lint soak soak-signals bench clean venv golden

venv: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

## Run the kiosk on simulated hardware with a local central API.
demo: $(STAMP)
	$(BIN)/python -m sim.demo

## The demo, then the owner's dashboard on its figures at http://127.0.0.1:8080 (Ctrl-C ends it).
demo-dashboard: $(STAMP)
	$(BIN)/python -m sim.demo --dashboard

## The whole test suite (unit, integration, end-to-end over the simulator).
test: $(STAMP)
	$(BIN)/python -m pytest -q -n 3

lint: $(STAMP)
	$(BIN)/ruff check kiosk sim central tests bench
	$(BIN)/mypy kiosk central

## Regenerate the golden screen PNGs after an intended change to the screens.
golden: $(STAMP)
	$(BIN)/python -m tests.reference.regenerate

## Long crash/fault run: make soak N=1000
N ?= 1000
PROCESSES ?= 20
soak: $(STAMP)
	$(BIN)/python -m tests.soak --kills $(N)

## Long stop/reload run: make soak-signals PROCESSES=20 (kiosk processes, 500 SIGHUPs and a SIGTERM each)
soak-signals: $(STAMP)
	$(BIN)/python -m tests.soak_signals --processes $(PROCESSES)

bench: $(STAMP)
	$(BIN)/python -m bench

## install.sh in an arm64 Debian Bookworm root under qemu, then check-config and doctor in it (root).
.PHONY: pi-root
pi-root:
	tests/pi_root/run.sh

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .hypothesis demo-state
