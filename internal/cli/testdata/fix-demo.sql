-- cdcpreflight 0.1.0 fix plan for streamkap_user@127.0.0.1:36537/shop
-- PostgreSQL 15.18 (Debian 15.18-0+deb12u1), platform self-hosted; connector role streamkap_user
-- 10 steps to review; apply with: cdcpreflight fix --apply (same flags).
-- fix runs each step in its own transaction, stops at the first failure, and never drops anything.
-- Printing this plan changed nothing in the database.

SET lock_timeout = '5s';
SET statement_timeout = '60s';

-- Step 1 of 10 · roles · replication-connection, replication-privilege
-- Why: the role may not open replication connections: must be superuser or replication role to start walsender
-- Needs: superuser
-- Locks: none that the application takes
ALTER ROLE streamkap_user WITH REPLICATION;

-- Step 2 of 10 · roles · row-level-security
-- Why: role streamkap_user is subject to row-level security on 1 captured table (public.invoices): a snapshot silently misses every row the policies hide from it
-- Needs: superuser
-- Locks: none that the application takes
ALTER ROLE streamkap_user BYPASSRLS;

-- Step 3 of 10 · grants · table-select
-- Why: role streamkap_user cannot SELECT 3 captured tables: public.audit_log, public.cart_sessions, public.invoices
-- Needs: the owner of each table listed (or a superuser)
-- Locks: none that the application takes
GRANT SELECT ON public.audit_log, public.cart_sessions, public.invoices TO streamkap_user;

-- Step 4 of 10 · grants · default-privileges
-- Why: role streamkap_user will not be able to read tables created later by postgres in public
-- Needs: role postgres, a member of it, or a superuser
-- Locks: none that the application takes
ALTER DEFAULT PRIVILEGES FOR ROLE postgres IN SCHEMA public GRANT SELECT ON TABLES TO streamkap_user;

-- Step 5 of 10 · schema and helper tables · signal-table
-- Why: signal table streamkap.streamkap_signal differs from the expected shape: column type is character varying(16), expected character varying(32)
-- Needs: the owner of table streamkap.streamkap_signal (or a superuser)
-- Locks: ACCESS EXCLUSIVE on streamkap.streamkap_signal (waits at most lock_timeout, then fails and stops the apply)
ALTER TABLE streamkap.streamkap_signal ALTER COLUMN type TYPE varchar(32);

-- Step 6 of 10 · replica identity · replica-identity
-- Why: UPDATE and DELETE on 2 captured tables will fail once added to the publication: public."Order Items" (no primary key), public.audit_log (no primary key)
-- Needs: the owner of table public."Order Items" (or a superuser)
-- Locks: ACCESS EXCLUSIVE on public."Order Items" (waits at most lock_timeout, then fails and stops the apply)
ALTER TABLE public."Order Items" REPLICA IDENTITY FULL;

-- Step 7 of 10 · replica identity · replica-identity
-- Why: UPDATE and DELETE on 2 captured tables will fail once added to the publication: public."Order Items" (no primary key), public.audit_log (no primary key)
-- Needs: the owner of table public.audit_log (or a superuser)
-- Locks: ACCESS EXCLUSIVE on public.audit_log (waits at most lock_timeout, then fails and stops the apply)
ALTER TABLE public.audit_log REPLICA IDENTITY FULL;

-- Step 8 of 10 · publication · publication-coverage
-- Why: 3 of 5 captured tables are not in publication streamkap_pub: public."Order Items", public.audit_log, public.invoices (not counted, since no publication can hold them: public.cart_sessions; see unlogged-tables and tables-exist)
-- Needs: the publication's owner, owning each table listed (or a superuser)
-- Locks: SHARE UPDATE EXCLUSIVE on each table listed (waits at most lock_timeout, then fails and stops the apply)
ALTER PUBLICATION streamkap_pub ADD TABLE public."Order Items", public.audit_log, public.invoices;

-- Step 9 of 10 · publication · publication-signal-table
-- Why: publication streamkap_pub does not include the signal table streamkap.streamkap_signal: snapshot requests would never be seen
-- Needs: the publication's owner, owning each table listed (or a superuser)
-- Locks: SHARE UPDATE EXCLUSIVE on each table listed (waits at most lock_timeout, then fails and stops the apply)
ALTER PUBLICATION streamkap_pub ADD TABLE streamkap.streamkap_signal;

-- Step 10 of 10 · replication slot · slot-exists
-- Why: replication slot streamkap_pgoutput_slot does not exist
-- Needs: a role with REPLICATION or a superuser
-- Locks: none that the application takes
-- Runs outside a transaction block: a rollback cannot undo it.
-- It waits for transactions already writing to finish (bounded by statement_timeout).
-- Note: from then on the slot retains WAL until the connector consumes it: start the connector soon
SELECT pg_create_logical_replication_slot('streamkap_pgoutput_slot', 'pgoutput');

-- Not planned: warnings whose fix is an opt-in you did not enable.
--
-- - wal-retention-limit: max_slot_wal_keep_size = -1: slots may retain unlimited WAL, so a stalled connector can fill the disk
--   Fix runs this only with --allow-alter-system.
--     ALTER SYSTEM SET max_slot_wal_keep_size = '10GB';
--     SELECT pg_reload_conf();
--
-- - replica-identity-full: 5 of 5 captured tables are not REPLICA IDENTITY FULL: delete events carry only the key and unchanged TOAST columns arrive as placeholders (public."Order Items", public.audit_log, public.customers, public.invoices, public.orders)
--   Fix runs this only with --replica-identity-full.
--     ALTER TABLE public."Order Items" REPLICA IDENTITY FULL;
--     ALTER TABLE public.audit_log REPLICA IDENTITY FULL;
--     ALTER TABLE public.customers REPLICA IDENTITY FULL;
--     ALTER TABLE public.invoices REPLICA IDENTITY FULL;
--     ALTER TABLE public.orders REPLICA IDENTITY FULL;
--
-- - unlogged-tables: 1 captured table is UNLOGGED (unlogged tables never produce change events): public.cart_sessions (in the default all-tables scope, not listed explicitly)
--   Fix runs this only with --set-logged.
--     ALTER TABLE public.cart_sessions SET LOGGED;
