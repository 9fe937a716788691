# The kit's two set-up commands (see README): `make demo` and `make test`.
# Both create .venv from the exact pins in requirements.txt on first use.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python

.PHONY: demo test generate benchmarks clean system-deps debian-packages hub

$(VENV)/.installed: requirements.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check --no-deps -r requirements.txt
	$(PY) -m pip install --quiet --disable-pip-version-check --no-deps -e .
	$(PY) -m pip check
	touch $@

demo: $(VENV)/.installed
	$(VENV)/bin/gradekit demo

# Two test workers on CI's two cores; each test grades with cores / workers jobs (grader_tests/helpers.py).
TEST_WORKERS ?= 2
test: $(VENV)/.installed system-deps
	$(PY) -m pytest -n $(TEST_WORKERS) grader_tests

# Browser tests drive Debian's Chromium; the gradebook tests start Debian's PostgreSQL server on a local
# port. CI (CI=true, root) installs what is missing; elsewhere those tests skip with a line saying what to
# install.
# The hub tests need configurable-http-proxy (npm, pinned in deploy/hub/package-lock.json) and root.
system-deps:
	@if [ "$$CI" = "true" ] && [ "$$(id -u)" = 0 ]; then $(MAKE) --no-print-directory debian-packages PACKAGES="chromium postgresql npm"; fi
	@if command -v npm >/dev/null 2>&1; then $(MAKE) --no-print-directory $(PROXY); fi

# Debian packages among $(PACKAGES) whose command is missing (chromium, postgresql, npm), installed as root.
debian-packages:
	@missing=""; for p in $(PACKAGES); do case $$p in \
		postgresql) ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing="$$missing $$p";; \
		*) command -v $$p >/dev/null 2>&1 || missing="$$missing $$p";; esac; done; \
	if [ -n "$$missing" ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; fi

PROXY := deploy/hub/node_modules/.bin/configurable-http-proxy
$(PROXY): deploy/hub/package.json deploy/hub/package-lock.json
	npm ci --prefix deploy/hub --no-audit --no-fund --loglevel=error
	touch $@

# The course on a JupyterHub (deploy/hub/course_hub.py): as root, accounts, exchange, a PostgreSQL gradebook,
# the hub on http://127.0.0.1:8000 (HUB_ARGS="--port 8080 --sqlite", or "--dummy" without root).
# --share-python lets the accounts traverse (o+x) the folders above this environment's Python, e.g. /root
# for a pyenv build; drop it where Python is installed for all users.
HUB_ARGS ?=
hub: $(VENV)/.installed
	@if [ "$$(id -u)" = 0 ]; then $(MAKE) --no-print-directory debian-packages PACKAGES="postgresql npm"; fi
	@$(MAKE) --no-print-directory $(PROXY)
	$(PY) deploy/hub/course_hub.py up --share-python $(HUB_ARGS)

generate: $(VENV)/.installed
	$(VENV)/bin/gradekit generate

benchmarks: $(VENV)/.installed
	$(PY) benchmarks/grade_time.py assignment1
	$(PY) benchmarks/batch_grading.py assignment1
	$(PY) benchmarks/similarity.py assignment1
	$(PY) benchmarks/security_cost.py
	$(PY) benchmarks/damage_gallery.py
	$(PY) benchmarks/startup.py
	$(PY) source/assignment1/kit/benchmarks/accuracy_over_seeds.py
	$(PY) source/assignment1/kit/benchmarks/gradcheck_margins.py

clean:
	rm -rf autograded submitted feedback gradebook.db
