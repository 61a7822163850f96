-- A connector set up the way that holds: the tables belong to an
-- application role {owner}, the grants go to a group role {group} the
-- connector {user} is a member of, default privileges are granted by (or
-- FOR ROLE) the owner, the connector has BYPASSRLS for a table with
-- row-level security, and a database-wide statement_timeout is lifted for
-- the connector role. {user}, {owner}, {group} and {database} are quoted
-- identifiers, {password} a quoted literal.
CREATE ROLE {owner} NOLOGIN;
CREATE ROLE {group} NOLOGIN;
CREATE ROLE {user} LOGIN REPLICATION BYPASSRLS PASSWORD {password};
GRANT {group} TO {user};
GRANT CREATE ON SCHEMA public TO {owner};
CREATE SCHEMA "Sales Ops" AUTHORIZATION {owner};

SET ROLE {owner};
CREATE TABLE public.customers (id bigint PRIMARY KEY, email text NOT NULL);
CREATE TABLE "Sales Ops"."Q1 Targets" (id bigint PRIMARY KEY, tenant text NOT NULL);
INSERT INTO "Sales Ops"."Q1 Targets" VALUES (1, 'acme'), (2, 'globex');
ALTER TABLE "Sales Ops"."Q1 Targets" ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_rows ON "Sales Ops"."Q1 Targets" USING (tenant = current_user);
-- Run by the owner itself, so it covers the tables the owner creates.
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT ON TABLES TO {group};
RESET ROLE;

-- Run by an administrator, naming the owner.
ALTER DEFAULT PRIVILEGES FOR ROLE {owner} IN SCHEMA "Sales Ops" GRANT SELECT ON TABLES TO {group};
GRANT CONNECT ON DATABASE {database} TO {group};
GRANT USAGE ON SCHEMA public, "Sales Ops" TO {group};
GRANT SELECT ON ALL TABLES IN SCHEMA public, "Sales Ops" TO {group};

ALTER DATABASE {database} SET statement_timeout = '1min';
ALTER ROLE {user} IN DATABASE {database} SET statement_timeout = 0;
