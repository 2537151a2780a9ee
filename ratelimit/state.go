package ratelimit

import "context"

type stateKey struct{}

// WithState returns ctx carrying the caller's budget after the current
// operation was charged (or only checked), for Query.rateLimit to report.
func WithState(ctx context.Context, st State) context.Context {
	return context.WithValue(ctx, stateKey{}, st)
}

// StateFrom returns the budget state WithState stored, false when no budget
// is kept (the server runs without one).
func StateFrom(ctx context.Context) (State, bool) {
	st, ok := ctx.Value(stateKey{}).(State)
	return st, ok
}
