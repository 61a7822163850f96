-- REPLICATION on a group role only: role attributes are not inherited, so
-- the login role may not replicate. The test fills {user} and {group} with
-- quoted identifiers and {password} with a quoted literal.
CREATE ROLE {group} NOLOGIN REPLICATION;
CREATE ROLE {user} LOGIN PASSWORD {password};
GRANT {group} TO {user};
