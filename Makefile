# The kit's two set-up commands (see README): `make demo` and `make test`.
# Both create .venv from the exact pins in requirements.txt on first use.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python

.PHONY: demo test generate benchmarks clean browser-deps

$(VENV)/.installed: requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.txt
	touch $@

demo: $(VENV)/.installed
	$(PY) -m gradekit demo

test: $(VENV)/.installed browser-deps
	$(PY) -m pytest grader_tests

# Browser tests drive Debian's Chromium. CI (CI=true, root) installs it; elsewhere they skip with a line
# saying how to enable them.
browser-deps:
	@if [ "$$CI" = "true" ] && ! command -v chromium >/dev/null 2>&1 && [ "$$(id -u)" = 0 ]; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; fi

generate: $(VENV)/.installed
	$(PY) -m gradekit generate

benchmarks: $(VENV)/.installed
	$(PY) benchmarks/accuracy_over_seeds.py
	$(PY) benchmarks/gradcheck_margins.py
	$(PY) benchmarks/grade_time.py
	$(PY) benchmarks/batch_grading.py

clean:
	rm -rf autograded submitted feedback gradebook.db
