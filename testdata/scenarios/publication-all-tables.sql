-- FOR ALL TABLES, which only a superuser may create (this fixture runs as
-- one): it covers every table, the signal table included.
CREATE PUBLICATION {publication} FOR ALL TABLES;
