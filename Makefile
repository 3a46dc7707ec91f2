# The few commands people run. `make demo` and `make test` are the README's two commands.
SHELL := /bin/bash
APP_PY := .venv/app/bin/python
RASA := .venv/rasa/bin/rasa
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export RASA_TELEMETRY_ENABLED := false
export SQLALCHEMY_SILENCE_UBER_WARNING := 1
# Rasa's training cache lives outside the checkout so fresh clones reuse unchanged graph nodes.
export RASA_CACHE_DIRECTORY ?= $(HOME)/.cache/shopdesk/rasa-cache

.PHONY: setup data db migrate backup import train recommender recommender-retrain knowledge console-user demo-agent demo serve \
        scaleout bench-load test lint clean clean-data

setup:            ## create/refresh both virtual environments and .env
	@bash scripts/setup.sh

data: setup       ## generate NLU data from ../shared/data (Bitext intents, CLINC150 out-of-scope examples)
	@$(APP_PY) -m training.bitext
	@$(APP_PY) -m training.clinc

db: setup         ## migrate and seed the demo store (once)
	@$(APP_PY) -m store.seed --if-empty

migrate: setup    ## upgrade the store database (SHOPDESK_DATABASE_URL, default var/shop.db) to this release's schema
	@$(APP_PY) -m shopdesk migrate

backup: setup     ## archive databases, knowledge base, models, uploads and shop profile into backups/ (shopdesk backup)
	@mkdir -p backups && $(APP_PY) -m shopdesk backup --output backups $(ARGS)

import:           ## the shop's own data (docs/adopting.md): make import FORMAT=shopify PRODUCTS=p.csv ORDERS=o.csv [MAPPING=m.yml] [ARGS=--dry-run]
	@[ -n "$(FORMAT)" ] || { echo "usage: make import FORMAT=shopify|woocommerce|generic [PRODUCTS=file] [ORDERS=file]" \
	  "[MAPPING=file, for generic] [ARGS='--dry-run --skip-bad-rows ...']"; exit 2; }
	@$(APP_PY) -m store.importers $(FORMAT) $(if $(PRODUCTS),--products "$(PRODUCTS)") \
	  $(if $(ORDERS),--orders "$(ORDERS)") $(if $(MAPPING),--mapping "$(MAPPING)") $(ARGS)

train: data       ## train the Rasa model (reuses Rasa's cache when nothing changed)
	@$(RASA) train --config config.yml --domain domain.yml --data training_data --out models --fixed-model-name shopdesk

recommender: db  ## train the product recommender once (var/recommender/current)
	@[ -e var/recommender/current ] || nice -n 10 $(APP_PY) -m recommender.train

recommender-retrain: db  ## publish a new recommender version; the running action server picks it up
	@nice -n 10 $(APP_PY) -m recommender.train

knowledge: setup  ## ingest the shop's documents (knowledge/docs) into the knowledge base; idempotent
	@$(APP_PY) -m knowledge.ingest knowledge/docs --prune

console-user: db  ## create an agent console account: make console-user EMAIL=you@shop.example ROLE=admin
	@$(APP_PY) -m console create-user --role $(or $(ROLE),agent) $(EMAIL)

demo-agent: db  ## the demo's console account: demo.agent@shopdesk.example, password SHOPDESK_DEMO_AGENT_PASSWORD in .env
	@grep '^SHOPDESK_DEMO_AGENT_PASSWORD=' .env | cut -d= -f2- | $(APP_PY) -m console create-user --role admin \
	  --name "Demo Agent" --password-stdin demo.agent@shopdesk.example 2>/dev/null || true

demo: db train recommender knowledge demo-agent  ## set everything up and start the demo shop
	@$(APP_PY) -m runtime.demo

serve: setup      ## production profile (docs/deployment.md): supervised processes behind nginx with TLS; ARGS=--data-dir ...
	@$(APP_PY) -m runtime.serve $(ARGS)

scaleout: train   ## scale-out profile (docs/deployment.md): PostgreSQL, Redis, RabbitMQ, HAProxy, N Rasa + M action servers
	@$(APP_PY) -m runtime.scaleout $(ARGS)

bench-load: train ## load + fault benchmark: embedded vs scale-out x1/x2/x3, faults, exactly-once audit
	@nice -n 10 $(APP_PY) bench/load_benchmark.py $(ARGS)

test: setup       ## set up and run the whole test suite
	@bash scripts/test.sh

lint: setup
	@.venv/app/bin/ruff check .

clean:            ## generated files only: test results and Rasa's local cache; databases and models are kept
	rm -rf results .rasa tests/artifacts

clean-data:       ## DELETES the demo's databases, knowledge base, recommender, uploads and models (asks first)
	@read -r -p "Delete var/ (store, conversations, knowledge base, uploads) and models/? Type 'delete': " answer; \
	  [ "$$answer" = delete ] || { echo "nothing deleted"; exit 1; }
	rm -rf models/*.tar.gz var/*.db var/*.db-wal var/*.db-shm var/chroma var/recommender var/uploads
