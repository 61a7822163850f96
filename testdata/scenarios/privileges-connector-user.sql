-- An administrator {admin} audits the connector role {user}: CONNECT is
-- revoked from PUBLIC and granted to the administrator only, and only the
-- administrator may read the table. {user}, {admin} and {database} are
-- quoted identifiers, {password} a quoted literal.
CREATE ROLE {user} LOGIN REPLICATION PASSWORD {password};
REVOKE CONNECT ON DATABASE {database} FROM PUBLIC;
GRANT CONNECT ON DATABASE {database} TO {admin};
CREATE TABLE public.customers (id bigint PRIMARY KEY);
GRANT SELECT ON public.customers TO {admin};
