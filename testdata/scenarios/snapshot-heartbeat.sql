-- Streamkap's heartbeat table in schema {schema}, writable by {user} and
-- added to the per-table publication {publication}.
CREATE SCHEMA IF NOT EXISTS {schema};
CREATE TABLE {schema}.streamkap_heartbeat (id SERIAL PRIMARY KEY, text TEXT, last_update TIMESTAMP DEFAULT CURRENT_TIMESTAMP);
GRANT USAGE ON SCHEMA {schema} TO {user};
GRANT SELECT, INSERT, UPDATE ON TABLE {schema}.streamkap_heartbeat TO {user};
INSERT INTO {schema}.streamkap_heartbeat (text) VALUES ('test_heartbeat');
ALTER PUBLICATION {publication} ADD TABLE {schema}.streamkap_heartbeat;
