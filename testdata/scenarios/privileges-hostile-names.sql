-- Tables nobody granted to the connector {user}: a keyless table with a
-- space in its name, a table whose name is an SQL injection attempt, and a
-- second schema the connector has no USAGE on (though it may SELECT the
-- table in it). {user} is a quoted identifier, {password} a quoted literal.
CREATE ROLE {user} LOGIN REPLICATION PASSWORD {password};
CREATE TABLE public.customers (id bigint PRIMARY KEY);
CREATE TABLE public."Order Items" (order_id bigint NOT NULL, sku text NOT NULL, qty integer NOT NULL);
CREATE TABLE public."x""; DROP TABLE y; --" (id bigint PRIMARY KEY);
CREATE TABLE public.y (id bigint PRIMARY KEY);
CREATE SCHEMA "Sales Ops";
CREATE TABLE "Sales Ops".q1 (id bigint PRIMARY KEY);
GRANT SELECT ON public.customers, public.y, "Sales Ops".q1 TO {user};
