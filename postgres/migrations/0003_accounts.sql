-- Accounts and their API keys. A key itself is never stored: only its hash,
-- and a short non-secret prefix to find it by (see package auth).

-- Ids and names compare byte-wise (COLLATE "C"), as in the memory store.
CREATE TABLE accounts (
	id         text COLLATE "C" PRIMARY KEY,
	name       text COLLATE "C" NOT NULL UNIQUE,
	created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE api_keys (
	id              text COLLATE "C" PRIMARY KEY,
	account_id      text COLLATE "C" NOT NULL REFERENCES accounts (id),
	-- The unique index on prefix is the lookup of every authenticated
	-- request.
	prefix          text COLLATE "C" NOT NULL UNIQUE,
	hash            bytea NOT NULL CHECK (length(hash) > 0),
	scopes          text[] NOT NULL,
	-- 0 keeps the server's defaults.
	rate_per_minute integer NOT NULL DEFAULT 0 CHECK (rate_per_minute >= 0),
	cost_per_minute integer NOT NULL DEFAULT 0 CHECK (cost_per_minute >= 0),
	-- NULL: never.
	expires_at      timestamptz,
	revoked_at      timestamptz,
	-- Written in batches (TouchAPIKeys), never once per request.
	last_used_at    timestamptz,
	created_at      timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX api_keys_account_idx ON api_keys (account_id);
