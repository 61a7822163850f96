-- A table the connector captures. The test fills {table} with a quoted
-- identifier.
CREATE TABLE {table} (id bigserial PRIMARY KEY, note text NOT NULL);
