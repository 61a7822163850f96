-- The guide's signal table in schema {schema}, with {privileges} granted
-- to {group}, a role the connector {user} is a member of (the guide grants
-- to streamkap_role). Placeholders are quoted identifiers, except
-- {privileges}, a privilege list chosen by the test.
CREATE ROLE {group} NOLOGIN;
GRANT {group} TO {user};
CREATE SCHEMA {schema};
CREATE TABLE {schema}.streamkap_signal (
id VARCHAR(255) PRIMARY KEY,
type VARCHAR(32) NOT NULL,
data VARCHAR(2000) NULL
);
GRANT USAGE ON SCHEMA {schema} TO {group};
GRANT {privileges} ON TABLE {schema}.streamkap_signal TO {group};
