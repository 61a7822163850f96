//go:build unix

package pglocal

import "syscall"

// sysProcAttr switches a child to u (when non-nil) and optionally puts it in
// its own process group so terminal signals aimed at us do not reach it.
func sysProcAttr(u *osUser, newGroup bool) *syscall.SysProcAttr {
	a := &syscall.SysProcAttr{Setpgid: newGroup}
	if u != nil {
		a.Credential = &syscall.Credential{Uid: u.uid, Gid: u.gid}
	}
	return a
}
