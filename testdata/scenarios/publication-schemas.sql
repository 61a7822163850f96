-- PostgreSQL 15+: FOR TABLES IN SCHEMA, superuser only. It covers the
-- application schema and the signal table's schema.
CREATE PUBLICATION {publication} FOR TABLES IN SCHEMA public, streamkap;
