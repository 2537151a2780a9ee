-- Case-insensitive matching folds ASCII letters only (marketgraph.FoldCase),
-- the same in every store whatever the database's locale: lower() and ILIKE
-- follow the locale, so that 'Kaspa' ILIKE '%' || U&'\212A' || '%' (a Kelvin
-- sign) is true under C.UTF-8 but false under C, and the memory store would
-- agree with only one of them.
--
-- mg_fold is marketgraph.FoldCase in SQL. translate() maps characters, and
-- A-Z are single bytes in UTF-8, so it changes exactly the bytes FoldCase
-- changes. The SQL-standard body is parsed once, here, and inlined by the
-- planner; IMMUTABLE lets an index use it.
CREATE FUNCTION mg_fold(s text) RETURNS text
	LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
	RETURN translate(s, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ', 'abcdefghijklmnopqrstuvwxyz');

-- asset(symbol:) looks symbols up by mg_fold(symbol), best rank first.
DROP INDEX assets_lower_symbol_idx;
CREATE INDEX assets_fold_symbol_idx ON assets (mg_fold(symbol), rank, id);
