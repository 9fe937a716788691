# The kit's two set-up commands (see README): `make demo` and `make test`.
# Both create .venv from the exact pins in requirements.txt on first use.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python

.PHONY: demo test generate benchmarks clean

$(VENV)/.installed: requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.txt
	touch $@

demo: $(VENV)/.installed
	$(PY) -m gradekit demo

test: $(VENV)/.installed
	$(PY) -m pytest grader_tests

generate: $(VENV)/.installed
	$(PY) -m gradekit generate

benchmarks: $(VENV)/.installed
	$(PY) benchmarks/accuracy_over_seeds.py
	$(PY) benchmarks/gradcheck_margins.py
	$(PY) benchmarks/grade_time.py

clean:
	rm -rf autograded submitted feedback gradebook.db
