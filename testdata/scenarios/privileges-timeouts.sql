-- Timeouts set for the connector {user} in pg_db_role_setting: a
-- statement_timeout on the role, an idle_in_transaction_session_timeout on
-- the whole database, and a lock_timeout on the role in this database
-- (harmless: not reported). {user} and {database} are quoted identifiers,
-- {password} a quoted literal.
CREATE ROLE {user} LOGIN REPLICATION PASSWORD {password};
CREATE TABLE public.customers (id bigint PRIMARY KEY);
GRANT SELECT ON public.customers TO {user};
ALTER ROLE {user} SET statement_timeout = '30s';
ALTER ROLE {user} IN DATABASE {database} SET lock_timeout = '5s';
ALTER DATABASE {database} SET idle_in_transaction_session_timeout = '1min';
