-- The connector's publication. The test fills {publication} and {table}
-- with quoted identifiers.
CREATE PUBLICATION {publication} FOR TABLE {table};
