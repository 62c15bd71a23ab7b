.PHONY: run test bench requirements gradio
run:   ## set up (first time) and run the app
	bash scripts/run.sh
test:  ## set up everything the tests need (Chromium included) and run all tests
	bash scripts/test.sh
bench: ## run every benchmark (each prints its figures, last line JSON)
	bash scripts/setup.sh dev
	for b in bench/*.py; do echo "== $$b"; .venv/bin/python $$b || exit 1; done
requirements: ## re-export requirements.txt from uv.lock (after `uv lock`)
	bash scripts/export-requirements.sh
gradio: ## set up the Gradio launcher's own environment (first time) and launch it
	bash scripts/setup.sh gradio
	.venv-gradio/bin/python -m lib.gradio_chat $(ARGS)
