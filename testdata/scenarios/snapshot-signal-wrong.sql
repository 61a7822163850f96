-- A signal table that looks right at a glance: no primary key, a type
-- column too short and nullable, a data column that refuses NULL.
CREATE SCHEMA {schema};
CREATE TABLE {schema}.streamkap_signal (
id VARCHAR(255) NOT NULL,
type VARCHAR(16),
data VARCHAR(2000) NOT NULL
);
GRANT USAGE ON SCHEMA {schema} TO {user};
GRANT SELECT, INSERT, UPDATE ON TABLE {schema}.streamkap_signal TO {user};
