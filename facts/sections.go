package facts

// Section names a part of Facts that is gathered over the catalog
// connection and can fail on its own; its value is the part's JSON key.
// Rules declare the sections they cannot be judged without
// (rules.Rule.Needs), and the runner reports such a rule as error, with
// the cause, instead of judging it.
type Section string

// Sections. SectionConnect and SectionTarget are not parts of their own:
// they say what a rule needs when it reads no gathered section.
const (
	// SectionConnect is the catalog connection itself, for rules that
	// read only what was probed over it. Every other section but
	// SectionTarget is read over it, so needing one needs it too.
	SectionConnect Section = "connect"
	// SectionTarget is the connection's parameters (Target), known
	// before connecting: it is never missing, so a rule judged whether or
	// not the connection succeeded needs only it.
	SectionTarget Section = "target"
	// SectionSSHTunnel is the SSH tunnel every connection goes through
	// when one is configured. It comes before the connection: when it
	// broke, every section read over the connection is missing with the
	// tunnel's failure as the cause.
	SectionSSHTunnel Section = "ssh_tunnel"

	SectionServer       Section = "server"
	SectionSettings     Section = "settings"
	SectionSession      Section = "session"
	SectionRole         Section = "role"
	SectionReplication  Section = "replication"
	SectionPrivileges   Section = "privileges"
	SectionRoleSettings Section = "role_settings"
	SectionTables       Section = "tables"
	SectionPublication  Section = "publication"
	SectionSlots        Section = "slots"
	SectionSignalTable  Section = "signal_table"
	SectionHeartbeat    Section = "heartbeat_table"
	// SectionScope and SectionConnectorDB are gathered only with a
	// connector configuration.
	SectionScope       Section = "capture_scope"
	SectionConnectorDB Section = "connector_database"

	SectionWalSenders  Section = "wal_senders"
	SectionConnections Section = "connections"
	SectionXIDHorizon  Section = "xid_horizon"
	SectionToast       Section = "toast"
	SectionBackend     Section = "backend"
)

// Sections lists every section, in the order Facts holds them.
var Sections = []Section{
	SectionConnect, SectionTarget, SectionSSHTunnel,
	SectionServer, SectionSettings, SectionSession, SectionRole, SectionReplication,
	SectionPrivileges, SectionRoleSettings, SectionTables, SectionPublication, SectionSlots,
	SectionSignalTable, SectionHeartbeat, SectionScope, SectionConnectorDB,
	SectionWalSenders, SectionConnections, SectionXIDHorizon, SectionToast, SectionBackend,
}

// SectionErr returns the error that kept section s from being gathered,
// nil when it was. For SectionConnect it is the catalog connection's
// failure, or that no connection was attempted; SectionTarget never fails.
func (f *Facts) SectionErr(s Section) *Error {
	switch s {
	case SectionConnect:
		if f.Connect.Err != nil {
			return &Error{Op: "could not connect", Message: f.Connect.Err.Message, SQLState: f.Connect.Err.SQLState}
		}
		if !f.Connect.Attempted {
			return &Error{Op: "gather", Message: "no connection was attempted"}
		}
		return nil
	case SectionTarget:
		return nil
	case SectionSSHTunnel:
		return f.SSHTunnel.Err
	case SectionServer:
		return f.Server.Err
	case SectionSettings:
		return f.Settings.Err
	case SectionSession:
		return f.Session.Err
	case SectionRole:
		return f.Role.Err
	case SectionReplication:
		return f.Replication.Err
	case SectionPrivileges:
		return f.Privileges.Err
	case SectionRoleSettings:
		return f.RoleSettings.Err
	case SectionTables:
		return f.Tables.Err
	case SectionPublication:
		return f.Publication.Err
	case SectionSlots:
		return f.Slots.Err
	case SectionSignalTable:
		return f.SignalTable.Err
	case SectionHeartbeat:
		return f.Heartbeat.Err
	case SectionScope:
		return f.Scope.Err
	case SectionConnectorDB:
		return f.ConnectorDB.Err
	case SectionWalSenders:
		return notGathered(f.WalSenders.Gathered, f.WalSenders.Err)
	case SectionConnections:
		return notGathered(f.Connections.Gathered, f.Connections.Err)
	case SectionXIDHorizon:
		return notGathered(f.XIDHorizon.Gathered, f.XIDHorizon.Err)
	case SectionToast:
		return notGathered(f.Toast.Gathered, f.Toast.Err)
	case SectionBackend:
		return notGathered(f.Backend.Gathered, f.Backend.Err)
	}
	return &Error{Op: "gather", Message: "unknown fact section " + string(s)}
}

// Missing returns why section s cannot be read, nil when it can: for
// every section read over the catalog connection, a broken SSH tunnel
// first (the report says the tunnel is why), then the connection's
// failure, then the section's own.
func (f *Facts) Missing(s Section) *Error {
	if s != SectionTarget && s != SectionSSHTunnel {
		if f.SSHTunnel.Broken() {
			return &Error{Op: "could not connect through the SSH tunnel (see rule ssh-tunnel)", Message: f.SSHTunnel.Err.Message}
		}
		if err := f.SectionErr(SectionConnect); err != nil {
			return err
		}
	}
	return f.SectionErr(s)
}
