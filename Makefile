.PHONY: run test bench
run:   ## set up (first time) and run the app
	bash scripts/run.sh
test:  ## set up everything the tests need (Chromium included) and run all tests
	bash scripts/test.sh
bench: ## run the benchmarks
	bash scripts/setup.sh dev && .venv/bin/python bench/stream_overhead.py
