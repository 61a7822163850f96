-- The default-privileges trap: the application's migration role {owner}
-- owns the tables, while Streamkap's script is run by an administrator
-- (here the superuser). Its ALTER DEFAULT PRIVILEGES has no FOR ROLE, so
-- it covers only tables the administrator creates, never the owner's.
-- {user}, {owner} and {group} are quoted identifiers, {password} a quoted
-- literal.
CREATE ROLE {owner} NOLOGIN;
CREATE ROLE {group} NOLOGIN;
CREATE ROLE {user} LOGIN REPLICATION PASSWORD {password};
GRANT {group} TO {user};
GRANT CREATE ON SCHEMA public TO {owner};

SET ROLE {owner};
CREATE TABLE public.customers (id bigint PRIMARY KEY, email text NOT NULL);
RESET ROLE;

GRANT USAGE ON SCHEMA public TO {group};
GRANT SELECT ON ALL TABLES IN SCHEMA public TO {group};
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT ON TABLES TO {group};
