//go:build !unix

package pglocal

import "syscall"

// sysProcAttr is a no-op where there are no uids or process groups; there is
// no root to switch away from either.
func sysProcAttr(*osUser, bool) *syscall.SysProcAttr { return nil }
