# The kit's two set-up commands (see README): `make demo` and `make test`.
# Both create .venv from the exact pins in requirements.txt on first use.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python

.PHONY: demo test generate benchmarks clean system-deps

$(VENV)/.installed: requirements.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.txt
	$(PY) -m pip install --quiet --disable-pip-version-check --no-deps -e .
	touch $@

demo: $(VENV)/.installed
	$(VENV)/bin/gradekit demo

test: $(VENV)/.installed system-deps
	$(PY) -m pytest grader_tests

# Browser tests drive Debian's Chromium; the gradebook tests start Debian's PostgreSQL server on a local
# port. CI (CI=true, root) installs what is missing; elsewhere those tests skip with a line saying what to
# install.
system-deps:
	@missing=""; \
	command -v chromium >/dev/null 2>&1 || missing="$$missing chromium"; \
	ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing="$$missing postgresql"; \
	if [ -n "$$missing" ] && [ "$$CI" = "true" ] && [ "$$(id -u)" = 0 ]; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; fi

generate: $(VENV)/.installed
	$(VENV)/bin/gradekit generate

benchmarks: $(VENV)/.installed
	$(PY) benchmarks/grade_time.py assignment1
	$(PY) benchmarks/batch_grading.py assignment1
	$(PY) source/assignment1/kit/benchmarks/accuracy_over_seeds.py
	$(PY) source/assignment1/kit/benchmarks/gradcheck_margins.py

clean:
	rm -rf autograded submitted feedback gradebook.db
