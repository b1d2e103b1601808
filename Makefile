# annotate: `make demo` sets up and runs the demo; `make test` sets up and runs the tests.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV ?= .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
PYTEST_ARGS ?= --durations=25  # the slowest tests, so that CI shows where its minutes go

.PHONY: demo test setup setup-dev lint format bench clean messages

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.runtime: requirements.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.dev: requirements.txt requirements-dev.txt $(VENV)/.runtime
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --silent
	touch $@

setup: $(VENV)/.runtime node_modules/.installed

setup-dev: $(VENV)/.dev node_modules/.installed

demo: setup
	$(BIN)/python manage.py migrate --no-input
	$(BIN)/python manage.py load_demo
	$(BIN)/python manage.py collectstatic --no-input --verbosity 0
	@echo "Open http://$(HOST):$(PORT)/ (Ctrl-C stops the server)"
	$(BIN)/python manage.py runserver $(HOST):$(PORT)

test: setup-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python manage.py makemigrations --check --dry-run
	$(BIN)/lint-imports
	$(BIN)/mypy
	npx --no-install eslint static tests/js eslint.config.js
	node --test tests/js/
	$(BIN)/pytest $(PYTEST_ARGS)

# Translations (docs/i18n.md): extract the marked strings into locale/*/LC_MESSAGES/*.po, and
# compile them into the .mo files the app reads (committed). Needs GNU gettext (apt-get install gettext).
messages: setup-dev
	$(BIN)/python manage.py makemessages -l ro --ignore=.venv --ignore=node_modules --ignore=staticfiles \
		--ignore=var --ignore=tests --ignore=bench --ignore=scripts
	xgettext --language=JavaScript --from-code=UTF-8 --keyword=t --keyword=tf --keyword=tt --keyword=ttf --keyword=tr --keyword=trf \
		--keyword=tn:1,2 --no-location --sort-output -o locale/djangojs.pot \
		static/review/*.js static/review/spans/*.js static/escalation/*.js static/leads/*.js static/catalog/*.js
	msgmerge --quiet --update --backup=none locale/ro/LC_MESSAGES/djangojs.po locale/djangojs.pot
	rm locale/djangojs.pot
	$(BIN)/python manage.py compilemessages --ignore=.venv --ignore=node_modules

lint:
	$(BIN)/ruff check . && $(BIN)/ruff format --check .

format:
	$(BIN)/ruff format . && $(BIN)/ruff check --fix .

bench: setup
	$(BIN)/python bench/asr.py

clean:
	rm -rf $(VENV) node_modules var staticfiles
