-- The connector {user} made "read-only" the common way: its sessions start
-- read-only, so its signal, watermark and heartbeat writes fail with
-- 25006 while its privileges allow them. {user} is a quoted identifier.
ALTER ROLE {user} SET default_transaction_read_only = on;
