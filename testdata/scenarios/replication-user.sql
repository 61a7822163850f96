-- A login role with REPLICATION on itself. The test fills {user} with a
-- quoted identifier and {password} with a quoted literal.
CREATE ROLE {user} LOGIN REPLICATION PASSWORD {password};
