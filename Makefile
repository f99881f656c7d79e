# Entry points, all idempotent: `make demo`, `make test` and `make shadow-demo` (see README).
VENV := .venv
PY := $(VENV)/bin/python
BASE := $(VENV)/.installed-base
TEST := $(VENV)/.installed-test

.PHONY: demo test shadow-demo bench system-deps

$(PY):
	python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

# The demo needs only the base install (every simulation command); the tests add the live adapter, the dashboard,
# a real TorchServe and a browser.
# The compiled hot modules (twin/compiled.py) are rebuilt when their source changes: a stale build is never used, and
# installing again keeps them the fast path.
HOT := setup.py twin/compiled.py $(wildcard twin/*/*.pxd) \
	$(patsubst %,%.py,$(subst .,/,$(shell grep -o '"twin\.[a-z_.]*"' twin/compiled.py | tr -d '"')))

$(BASE): pyproject.toml $(HOT) | $(PY)
	$(PY) -m pip install --quiet -e .
	touch $@

$(TEST): pyproject.toml $(HOT) | $(PY)
	$(PY) -m pip install --quiet -e '.[test]'
	touch $@

demo: $(BASE)
	$(VENV)/bin/servetwin run scenarios/default.yaml

system-deps:
	bash scripts/install-system-deps

# pytest exits 5 when it collects nothing; that is not a failure of the suite.
test: $(TEST) system-deps
	$(PY) -m pytest -q; rc=$$?; if [ $$rc -eq 5 ]; then rc=0; fi; exit $$rc

# Shadow mode without a cluster: a real TorchServe, Prometheus and KMock on loopback (the test extra's), one minute of
# `servetwin live` under load, then the dashboard's Shadow tab on its report (kept up on a terminal; CI goes on).
shadow-demo: $(TEST) system-deps
	$(PY) -m scripts.shadow_demo $(if $(DURATION),--duration $(DURATION))

bench: $(BASE)
	$(PY) benchmarks/reference.py
