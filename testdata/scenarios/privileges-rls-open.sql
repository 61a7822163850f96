-- Row-level security that hides nothing from the connector {user}: owned
-- by {owner}, public.profiles has only Supabase's stock "readable by
-- everyone" policy (FOR SELECT, TO PUBLIC, USING (true)), and public.notes
-- a FOR ALL policy USING (true) for {group}, a role {user} is a member of
-- (with INHERIT, which policies follow). {user}, {owner} and {group} are
-- quoted identifiers, {password} a quoted literal.
CREATE ROLE {owner} NOLOGIN;
CREATE ROLE {group} NOLOGIN;
CREATE ROLE {user} LOGIN REPLICATION PASSWORD {password} IN ROLE {group};

CREATE TABLE public.profiles (id bigint PRIMARY KEY, owner_name text NOT NULL);
INSERT INTO public.profiles VALUES (1, 'acme'), (2, 'globex'), (3, 'initech');
ALTER TABLE public.profiles OWNER TO {owner};
ALTER TABLE public.profiles ENABLE ROW LEVEL SECURITY;
CREATE POLICY "Public profiles are viewable by everyone." ON public.profiles FOR SELECT USING (true);
CREATE POLICY "Users can update own profile." ON public.profiles FOR UPDATE USING (owner_name = current_user);

CREATE TABLE public.notes (id bigint PRIMARY KEY, body text);
INSERT INTO public.notes VALUES (1, 'a'), (2, 'b');
ALTER TABLE public.notes OWNER TO {owner};
ALTER TABLE public.notes ENABLE ROW LEVEL SECURITY;
CREATE POLICY cdc_all ON public.notes FOR ALL TO {group} USING (true);

GRANT SELECT ON public.profiles, public.notes TO {group};
