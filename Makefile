# The two commands the README starts with, and the pieces they are made of.
#
#   make demo   install into .venv and run pymaildrop's main job, delivery mode,
#               on an embedded default: a Courier userdb file and a mail
#               directory under the checkout (./demo/); see samples/demo/
#   make test   install everything the tests need and run the whole suite
#   make bench  time and measure pymaildrop against maildrop (benchmarks/)
#
# pymaildrop runs on Debian's /usr/bin/python3: it has the GDBM module that
# reads maildrop's databases (python3-gdbm), and Postfix's pipe user can run it
# (an interpreter under /root cannot be).

PYTHON ?= /usr/bin/python3
VENV   ?= .venv
APT_PACKAGES = python3-venv python3-gdbm
TEST_PACKAGES = maildrop courier-authdaemon courier-authlib-userdb

.PHONY: demo test bench install system-packages test-packages clean

demo: install
	@sh samples/demo/run-demo.sh

test: install test-packages
	PYMAILDROP_REQUIRE_E2E=1 $(VENV)/bin/python -m pytest -ra

bench: install test-packages
	$(VENV)/bin/python benchmarks/delivery_time.py
	$(VENV)/bin/python benchmarks/peak_memory.py

install: system-packages
	@test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -e '.[test]'
	@# Bytecode now, as a regular pip install makes it: a delivery run by a user
	@# who cannot write __pycache__ would otherwise compile every module each time.
	$(VENV)/bin/python -m compileall -q pymaildrop >/dev/null

system-packages:
	@dpkg -s $(APT_PACKAGES) >/dev/null 2>&1 || { \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(APT_PACKAGES); }

# The reference maildrop, for the tests that compare against it.
test-packages:
	@dpkg -s $(TEST_PACKAGES) >/dev/null 2>&1 || { \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(TEST_PACKAGES); }

clean:
	rm -rf $(VENV) demo build dist *.egg-info .pytest_cache
