-- The usual hardening step: nobody may connect to {database} unless
-- granted, and the connector {user} was not. Both are quoted identifiers.
REVOKE CONNECT ON DATABASE {database} FROM PUBLIC;
REVOKE CONNECT ON DATABASE {database} FROM {user};
