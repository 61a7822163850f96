-- The database behind testdata/script-template.json: most of what fix
-- plans for, every name a placeholder (@@N1@@ …) that FuzzScript replaces
-- with hostile names. Regenerate with: go test ./internal/fix -run TestScriptTemplate -update
-- Placeholders filled in by the test: {db} the database.

REVOKE CONNECT ON DATABASE {db} FROM PUBLIC;
ALTER DATABASE {db} SET statement_timeout = '5s';
CREATE ROLE "@@N8@@";

CREATE SCHEMA "@@N1@@";
GRANT USAGE, CREATE ON SCHEMA "@@N1@@" TO "@@N8@@";
-- A key: only grants and the publication.
CREATE TABLE "@@N1@@"."@@N2@@" (id int PRIMARY KEY, "@@N19@@" text);
-- Keyless with a usable unique index: REPLICA IDENTITY USING INDEX.
CREATE TABLE "@@N1@@"."@@N3@@" ("@@N19@@" text NOT NULL, v text);
CREATE UNIQUE INDEX "@@N4@@" ON "@@N1@@"."@@N3@@" ("@@N19@@");
-- Keyless, nothing to use: REPLICA IDENTITY FULL.
CREATE TABLE "@@N1@@"."@@N5@@" (at timestamptz DEFAULT now(), payload text);
-- Row-level security: BYPASSRLS.
CREATE TABLE "@@N1@@"."@@N6@@" (id int PRIMARY KEY);
ALTER TABLE "@@N1@@"."@@N6@@" ENABLE ROW LEVEL SECURITY;
-- UNLOGGED: SET LOGGED with --set-logged.
CREATE UNLOGGED TABLE "@@N1@@"."@@N7@@" (id int PRIMARY KEY);
-- A partitioned table, published without publish_via_partition_root.
CREATE TABLE "@@N1@@"."@@N16@@" (id int, k int, PRIMARY KEY (id, k)) PARTITION BY LIST (k);
CREATE TABLE "@@N1@@"."@@N17@@" PARTITION OF "@@N1@@"."@@N16@@" FOR VALUES IN (1);
-- A generated column.
CREATE TABLE "@@N1@@"."@@N20@@" (id int PRIMARY KEY, a int, "@@N21@@" int GENERATED ALWAYS AS (a * 2) STORED);
-- Owned by another role: default privileges FOR ROLE.
ALTER TABLE "@@N1@@"."@@N2@@" OWNER TO "@@N8@@";
ALTER TABLE "@@N1@@"."@@N5@@" OWNER TO "@@N8@@";

-- A published table with a row filter and a column list (15+), a
-- publication without deletes, the partitioned table published by name.
CREATE TABLE "@@N1@@"."@@N18@@" (id int PRIMARY KEY, "@@N19@@" text);
CREATE PUBLICATION "@@N10@@" FOR TABLE "@@N1@@"."@@N18@@" (id, "@@N19@@") WHERE ("@@N19@@" <> '@@N22@@'),
	"@@N1@@"."@@N16@@", "@@N1@@"."@@N5@@"
	WITH (publish = 'insert, update');
