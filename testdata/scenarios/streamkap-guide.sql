-- The Streamkap PostgreSQL setup guide (shared/seed), to the letter, run as
-- a superuser. Placeholders {password}, {database} and {schema} are
-- replaced by the test. The RDS-only "GRANT rds_replication TO
-- streamkap_role;" is left out: on a self-hosted server the guide's
-- "ALTER USER streamkap_user WITH REPLICATION;" gives the attribute.
-- The slot is created by streamkap-guide-slot.sql, in its own transaction:
-- a slot cannot be created in a transaction that has written.

CREATE USER streamkap_user PASSWORD '{password}';
CREATE ROLE streamkap_role nologin PASSWORD '{password}';
GRANT streamkap_role TO streamkap_user;
GRANT CONNECT ON DATABASE "{database}" TO streamkap_role;
GRANT CREATE, USAGE ON SCHEMA "{schema}" TO streamkap_role;
GRANT SELECT ON ALL TABLES IN SCHEMA "{schema}" TO streamkap_role;
ALTER DEFAULT PRIVILEGES IN SCHEMA "{schema}" GRANT SELECT ON TABLES TO streamkap_role;
ALTER USER streamkap_user WITH REPLICATION;

CREATE SCHEMA streamkap;
SET search_path TO streamkap;
CREATE TABLE streamkap_signal (
id VARCHAR(255) PRIMARY KEY,
type VARCHAR(32) NOT NULL,
data VARCHAR(2000) NULL
);
GRANT CREATE, USAGE ON SCHEMA streamkap TO streamkap_role;
GRANT SELECT ON ALL TABLES IN SCHEMA streamkap TO streamkap_role;
GRANT SELECT, UPDATE, INSERT ON TABLE streamkap_signal TO streamkap_role;
RESET search_path;

CREATE PUBLICATION streamkap_pub FOR ALL TABLES;
