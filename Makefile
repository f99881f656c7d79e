# Two entry points, both idempotent: `make demo` and `make test` (see README).
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: demo test bench system-deps

$(STAMP): pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	touch $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/servetwin run scenarios/default.yaml

system-deps:
	bash scripts/install-system-deps

# pytest exits 5 when it collects nothing; that is not a failure of the suite.
test: $(STAMP) system-deps
	$(PY) -m pytest -q; rc=$$?; if [ $$rc -eq 5 ]; then rc=0; fi; exit $$rc

bench: $(STAMP)
	$(PY) benchmarks/reference.py
