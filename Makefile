# Two entry points, both idempotent: `make demo` and `make test` (see README).
VENV := .venv
PY := $(VENV)/bin/python
BASE := $(VENV)/.installed-base
TEST := $(VENV)/.installed-test

.PHONY: demo test bench system-deps

$(PY):
	python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

# The demo needs only the base install (every simulation command); the tests add the live adapter, the dashboard,
# a real TorchServe and a browser.
$(BASE): pyproject.toml | $(PY)
	$(PY) -m pip install --quiet -e .
	touch $@

$(TEST): pyproject.toml | $(PY)
	$(PY) -m pip install --quiet -e '.[test]'
	touch $@

demo: $(BASE)
	$(VENV)/bin/servetwin run scenarios/default.yaml

system-deps:
	bash scripts/install-system-deps

# pytest exits 5 when it collects nothing; that is not a failure of the suite.
test: $(TEST) system-deps
	$(PY) -m pytest -q; rc=$$?; if [ $$rc -eq 5 ]; then rc=0; fi; exit $$rc

bench: $(BASE)
	$(PY) benchmarks/reference.py
