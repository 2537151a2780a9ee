-- The read side of the walking skeleton: the asset catalog, OHLCV candles and
-- trading signals, plus a little metadata the seed keeps about its dataset.

-- Ids, and the name key of the NAME ordering, compare byte-wise (COLLATE "C")
-- so that ordering and paging agree with the in-memory store whatever the
-- database's locale is.
CREATE TABLE assets (
	id         text COLLATE "C" PRIMARY KEY,
	symbol     text NOT NULL,
	name       text NOT NULL,
	-- marketgraph.SortName(name), computed in Go so both stores share one rule.
	sort_name  text COLLATE "C" NOT NULL,
	rank       integer NOT NULL,
	category   text NOT NULL DEFAULT '',
	market_cap double precision NOT NULL DEFAULT 0,
	volume_24h double precision NOT NULL DEFAULT 0,
	change_24h double precision NOT NULL DEFAULT 0,
	supply     double precision NOT NULL DEFAULT 0,
	updated_at timestamptz NOT NULL DEFAULT now()
);

-- One index per ordering, each ending in the id tie-break, so keyset paging
-- ((key, id) > (cursor key, cursor id)) is an index range scan.
CREATE INDEX assets_rank_idx ON assets (rank, id);
CREATE INDEX assets_sort_name_idx ON assets (sort_name, id);
CREATE INDEX assets_market_cap_idx ON assets (market_cap, id);
CREATE INDEX assets_change_24h_idx ON assets (change_24h, id);
-- asset(symbol:) looks symbols up case-insensitively, best rank first.
CREATE INDEX assets_lower_symbol_idx ON assets (lower(symbol), rank, id);

-- The primary key (asset_id, interval, start) is also the index every candle
-- query uses: equality on the first two columns, a range or a backward scan
-- on start.
CREATE TABLE candles (
	asset_id   text COLLATE "C" NOT NULL REFERENCES assets (id),
	"interval" text NOT NULL CHECK ("interval" IN ('MINUTE', 'HOUR', 'DAY')),
	start      timestamptz NOT NULL,
	open       double precision NOT NULL,
	high       double precision NOT NULL,
	low        double precision NOT NULL,
	close      double precision NOT NULL,
	volume     double precision NOT NULL,
	PRIMARY KEY (asset_id, "interval", start)
);

CREATE TABLE signals (
	id         text COLLATE "C" PRIMARY KEY,
	asset_id   text COLLATE "C" NOT NULL REFERENCES assets (id),
	kind       text NOT NULL CHECK (kind IN ('BUY', 'SELL', 'HOLD')),
	strength   double precision NOT NULL CHECK (strength >= 0 AND strength <= 1),
	indicator  text NOT NULL,
	reason     text NOT NULL,
	emitted_at timestamptz NOT NULL
);

-- Newest signals of an asset first, ties by id descending: the order of
-- Asset.signals and Asset.latestSignal.
CREATE INDEX signals_asset_emitted_idx ON signals (asset_id, emitted_at DESC, id DESC);

-- Facts about the loaded dataset, such as the instant the seed generated it
-- for, so that running the seed again regenerates the very same data.
CREATE TABLE dataset_meta (
	key   text PRIMARY KEY,
	value text NOT NULL
);
