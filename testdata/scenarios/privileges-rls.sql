-- Row-level security three ways for the connector {user}: {owner}'s
-- accounts table with a tenant policy (the connector sees none of its
-- rows), a table the connector owns (owners are exempt), and one it owns
-- with FORCE ROW LEVEL SECURITY (not exempt). {user} and {owner} are
-- quoted identifiers, {password} a quoted literal.
CREATE ROLE {owner} NOLOGIN;
CREATE ROLE {user} LOGIN REPLICATION PASSWORD {password};

CREATE TABLE public.accounts (id bigint PRIMARY KEY, tenant text NOT NULL);
INSERT INTO public.accounts VALUES (1, 'acme'), (2, 'globex');
ALTER TABLE public.accounts OWNER TO {owner};
ALTER TABLE public.accounts ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_rows ON public.accounts USING (tenant = current_user);
GRANT SELECT ON public.accounts TO {user};

CREATE TABLE public.audit (id bigint PRIMARY KEY);
INSERT INTO public.audit VALUES (1), (2);
ALTER TABLE public.audit OWNER TO {user};
ALTER TABLE public.audit ENABLE ROW LEVEL SECURITY;

CREATE TABLE public.ledger (id bigint PRIMARY KEY);
INSERT INTO public.ledger VALUES (1), (2), (3);
ALTER TABLE public.ledger OWNER TO {user};
ALTER TABLE public.ledger ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.ledger FORCE ROW LEVEL SECURITY;
