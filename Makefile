# backprop-grader: `make run` serves on http://127.0.0.1:5000, `make test` runs the tests.
VENV ?= .venv
PYTHON ?= python3
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
HOST ?= 127.0.0.1
PORT ?= 5000
PYTEST_ARGS ?=

.PHONY: install run test lint selftest clean vendor

install: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

run: install
	$(BIN)/grader db upgrade
	$(BIN)/grader exercises import exercises/
	$(BIN)/grader demo
	@echo "Serving on http://$(HOST):$(PORT)  (Ctrl-C stops)"
	$(BIN)/gunicorn --config gunicorn.conf.py --bind $(HOST):$(PORT) --workers 2 'grader:create_app()'

test: install
	$(BIN)/pytest $(PYTEST_ARGS)
	$(BIN)/grader exercises test --quiet exercises/

# ruff (style, unused noqa, complexity), mypy over grader/, and the layering contracts of
# DESIGN section 2 (import-linter); configured in pyproject.toml.
lint: install
	$(BIN)/ruff check grader tests
	$(BIN)/ruff format --check grader tests
	$(BIN)/mypy
	$(BIN)/lint-imports

# Browser code from npm, committed so that CI and `make test` need no npm: axe-core for the
# accessibility checks of the browser tests, and CodeMirror 6 (the code answers' editor) bundled
# by esbuild. Run after changing frontend/package.json or frontend/code-editor.js.
vendor:
	cd frontend && npm ci --no-audit --no-fund
	mkdir -p tests/web/vendor
	cp frontend/node_modules/axe-core/axe.min.js tests/web/vendor/axe.min.js
	cp frontend/node_modules/axe-core/LICENSE tests/web/vendor/axe-core.LICENSE
	frontend/node_modules/.bin/esbuild frontend/code-editor.js --bundle --minify --format=iife \
	  --legal-comments=eof --outfile=grader/web/static/vendor/code-editor.js
	cp frontend/node_modules/codemirror/LICENSE grader/web/static/vendor/codemirror.LICENSE

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis build *.egg-info
