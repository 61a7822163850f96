.PHONY: test demo lint deps

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
