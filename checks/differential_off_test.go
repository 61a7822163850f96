//go:build !differential

package checks_test

import (
	"testing"
	"time"

	"github.com/cdcpreflight/cdcpreflight/facts"
)

// differentialHooks: without the build tag the scenarios run alone; see
// differential_test.go.
func differentialHooks() (func(*testing.T, string, facts.Options, time.Time), func(int) int) {
	return nil, nil
}
