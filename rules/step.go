package rules

import (
	"fmt"
	"iter"
)

// Phase orders remediation steps across rules: a grant needs its role, a
// grant on the signal table needs the table, a publication needs its tables'
// replica identity settled, and the slot comes last because it starts
// retaining WAL the moment it exists.
type Phase int

// Phases, in the order fix runs them.
const (
	PhaseSystem      Phase = iota + 1 // server settings (ALTER SYSTEM)
	PhaseRoles                        // the connector role and its attributes
	PhaseGrants                       // CONNECT, USAGE, SELECT, default privileges
	PhaseHelpers                      // signal and heartbeat schema, tables and their grants
	PhaseIdentity                     // replica identity, logged tables
	PhasePublication                  // create or alter the publication
	PhaseSlot                         // the replication slot, last
)

var phaseNames = map[Phase]string{
	PhaseSystem: "server settings", PhaseRoles: "roles", PhaseGrants: "grants",
	PhaseHelpers: "schema and helper tables", PhaseIdentity: "replica identity",
	PhasePublication: "publication", PhaseSlot: "replication slot",
}

func (p Phase) String() string {
	if n, ok := phaseNames[p]; ok {
		return n
	}
	return fmt.Sprintf("phase(%d)", int(p))
}

// Opt-ins: steps fix applies only when asked, because they cost more than
// the finding they fix or need a decision only a person can make.
const (
	// OptInAlterSystem: ALTER SYSTEM changes the whole server's configuration.
	OptInAlterSystem = "allow-alter-system"
	// OptInReplicaIdentityFull: FULL on tables that already have a usable
	// identity makes every UPDATE and DELETE log the whole old row.
	OptInReplicaIdentityFull = "replica-identity-full"
	// OptInSetLogged: SET LOGGED rewrites the table under an ACCESS
	// EXCLUSIVE lock and writes all of it to the WAL.
	OptInSetLogged = "set-logged"
)

// Step is one remediation statement with what a reviewer needs to judge it.
// Rules build steps from facts; fix orders them across rules and runs them.
type Step struct {
	Phase Phase `json:"phase"`
	// SQL is one statement ending in ';', identifiers quoted.
	SQL string `json:"sql"`
	// Needs is who may run it: "superuser", "the owner of table public.t".
	Needs string `json:"needs"`
	// Locks is the lock it takes on user objects, "" when none that
	// could block the application.
	Locks string `json:"locks,omitempty"`
	// NonTransactional steps cannot run inside a transaction block, or are
	// not undone by a rollback (slot creation, ALTER SYSTEM).
	NonTransactional bool `json:"non_transactional,omitempty"`
	// OptIn names the fix flag (without "--") that enables the step; ""
	// when fix applies it by default.
	OptIn string `json:"opt_in,omitempty"`
	// Manual steps are printed for a person to run and never applied: a
	// server restart, or a step that needs something done first.
	Manual bool `json:"manual,omitempty"`
	// Restart: the step takes effect only when the server restarts, which
	// fix never does; the plan says so as a manual step.
	Restart bool `json:"restart,omitempty"`
	// Note is shown with the step: what follows it, what it costs.
	Note string `json:"note,omitempty"`
}

// ddlLockTimeout precedes SQL shown in reports when a statement takes a lock
// the application may hold, so that pasting it never queues behind a long
// transaction while blocking everyone else.
const ddlLockTimeout = "SET lock_timeout = '5s';"

// stepsSQL is the runnable form of steps for reports' fix_sql.
func stepsSQL(steps iter.Seq[Step]) []string {
	var out []string
	locks := false
	for s := range steps {
		out = append(out, s.SQL)
		locks = locks || s.Locks != ""
	}
	if locks {
		return append([]string{ddlLockTimeout}, out...)
	}
	return out
}

// lazySQL yields what stepsSQL returns for steps, building each step
// when its line is wanted, or returns nil when there is no step. It walks
// steps once first, inside the rule's evaluation: to know whether a step
// takes a lock, and so that a step that cannot be built fails the rule
// there, where the runner recovers, and not later in a report writer.
func lazySQL(steps iter.Seq[Step]) iter.Seq[string] {
	locks, n := false, 0
	for s := range steps {
		n++
		locks = locks || s.Locks != ""
	}
	if n == 0 {
		return nil
	}
	return func(yield func(string) bool) {
		if locks && !yield(ddlLockTimeout) {
			return
		}
		for s := range steps {
			if !yield(s.SQL) {
				return
			}
		}
	}
}

// WithSteps attaches what to do and the steps that do it.
func (o Outcome) WithSteps(text string, steps ...Step) Outcome {
	o.Remediation = text
	o.Steps = append(o.Steps, steps...)
	return o
}

// WithStepSeq attaches what to do and steps that are built only when they
// are wanted, one at a time, after any from WithSteps: for a step per
// table, which at 100,000 tables a check would otherwise hold all of to
// show their SQL. steps may be iterated more than once and must yield the
// same steps each time.
func (o Outcome) WithStepSeq(text string, steps iter.Seq[Step]) Outcome {
	o.Remediation = text
	o.stepSeq = steps
	return o
}

// allSteps yields the outcome's steps, the built ones first.
func (o Outcome) allSteps(yield func(Step) bool) {
	for _, s := range o.Steps {
		if !yield(s) {
			return
		}
	}
	if o.stepSeq != nil {
		o.stepSeq(yield)
	}
}
