//go:build deps

// Package deps pins modules the packages being written need, so go.mod holds
// them while those packages land. Deleted once every module is imported.
package deps

import (
	_ "github.com/go-chi/chi/v5"
	_ "github.com/go-chi/chi/v5/middleware"
	_ "github.com/graph-gophers/dataloader/v7"
	_ "github.com/hashicorp/golang-lru/v2"
	_ "github.com/jackc/pgx/v5"
	_ "github.com/jackc/pgx/v5/pgxpool"
	_ "golang.org/x/sync/singleflight"
)
