# Two entry points (README): `make report` and `make test`. Both build or refresh .venv first.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
SAMPLE := data/sample
SAMPLE_USERS ?= 20000
SAMPLE_SEED ?= 0

.PHONY: all venv system-deps sample report test lint format bench clean

all: test

# Re-install whenever the declared dependencies change.
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	$(BIN)/python -m ipykernel install --sys-prefix --name python3 >/dev/null
	touch $(STAMP)

venv: $(STAMP)

# Fonts for CJK labels in charts (lang=zh); best effort, needs apt and root.
system-deps:
	@sh scripts/ensure-system-deps.sh

$(SAMPLE)/truth.json: $(STAMP) src/growthlab/data/synth.py
	$(BIN)/growthlab synth --users $(SAMPLE_USERS) --seed $(SAMPLE_SEED) --out $(SAMPLE)

sample: $(SAMPLE)/truth.json

report: $(STAMP) system-deps sample
	$(BIN)/growthlab run --config runs/default.yaml --out reports

test: $(STAMP) system-deps sample
	$(BIN)/ruff check src tests benchmarks notebooks
	$(BIN)/ruff format --check src tests benchmarks notebooks
	$(BIN)/python -m pytest tests
	$(BIN)/python -m pytest --nbval-lax -p no:cacheprovider notebooks

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks notebooks

format: $(STAMP)
	$(BIN)/ruff format src tests benchmarks notebooks
	$(BIN)/ruff check --fix src tests benchmarks notebooks

bench: $(STAMP)
	for b in benchmarks/bench_*.py; do $(BIN)/python $$b || exit 1; done

clean:
	rm -rf $(VENV) $(SAMPLE) reports .pytest_cache .ruff_cache .hypothesis
