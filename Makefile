# The two commands of the README.
#   make demo   build the environment, then run the embedded mini recipe end to end
#   make test   build the environment, then run the test suite
SHELL := /bin/bash
.PHONY: demo test env

PYTEST_ARGS ?=

env:
	$(MAKE) -C tools

demo: env
	cd egs/mini_lrs3 && ./run.sh

test: env
	tools/venv/bin/python -m pytest $(PYTEST_ARGS)
