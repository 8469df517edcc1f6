# OptiQ — `make run` starts the platform, `make test` runs the suite. Both install first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
REQS := requirements/base.txt requirements/dev.txt
STAMP := $(VENV)/.installed-$(shell cat $(REQS) 2>/dev/null | sha1sum | cut -c1-12)
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: install run test fuzz lint format bench demo-train train-router stop clean

install: $(STAMP)

$(STAMP): $(REQS)
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "OptiQ needs Python 3.11 or newer"'
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q -U pip wheel
	@# torch first, pinned: the CPU build; a looser pin would pull the CUDA wheels.
	$(BIN)/pip install -q torch==2.13.0
	$(BIN)/pip install -q -r requirements/dev.txt
	@rm -f $(VENV)/.installed-*
	@touch $@

run: install
	$(BIN)/python -m optiq_site.runner

test: install
	@command -v chromium >/dev/null 2>&1 || echo "no chromium: the browser tests (tests/browser) are skipped; install Debian's with: apt-get install -y chromium"
	$(BIN)/python -m pytest

# The API fuzzer at length: schemathesis' coverage phase too, 50 examples per operation (tens of minutes).
fuzz: install
	FUZZ_PHASES=examples,coverage,fuzzing,stateful FUZZ_MAX_EXAMPLES=50 $(BIN)/python -m pytest tests/fuzz -o timeout=7200

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy .

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# Fine-tunes the default Gemma 3 270M on the shipped examples on this CPU (about 5 minutes on 2 cores).
demo-train: install
	$(BIN)/python manage.py migrate --noinput -v 0
	$(BIN)/python manage.py demo_train

# Builds the router data set, fine-tunes a router on this CPU (about 20 minutes on 2 cores), registers it
# with the router role (not activated: activate it in the admin) and writes its evaluation to benchmarks/RESULTS.md.
train-router: install
	$(BIN)/python manage.py migrate --noinput -v 0
	$(BIN)/python manage.py train_router --evaluate --results benchmarks/RESULTS.md

bench: install
	$(BIN)/python benchmarks/run_all.py

stop:
	$(BIN)/python -m optiq_site.runner --stop

clean:
	rm -rf $(VENV) var
