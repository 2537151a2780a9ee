// Package marketgraph holds the domain of the marketgraph GraphQL server: the
// types its schema binds to (assets, quotes, candles, signals), the service
// interfaces the stores and providers implement, and the error type whose
// codes clients see in extensions.code. It imports only the standard library.
package marketgraph

//go:generate go tool gqlgen generate --config gqlgen.yml
