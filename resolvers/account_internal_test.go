package resolvers

import (
	"context"
	"testing"
	"time"

	"github.com/marketgraph/marketgraph"
	"github.com/marketgraph/marketgraph/auth"
	"github.com/marketgraph/marketgraph/pubsub"
)

// Per-account topics: each caller hears its own account's events and no
// one else's; an anonymous caller is refused.
func TestAccountEvents(t *testing.T) {
	bus := pubsub.NewLocal(0)
	defer bus.Close()
	r := New(Deps{Bus: bus})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if _, err := r.accountEvents(ctx); marketgraph.ErrorCode(err) != marketgraph.EUNAUTHENTICATED {
		t.Fatalf("anonymous: %v, want UNAUTHENTICATED", err)
	}
	subA, err := r.accountEvents(auth.WithPrincipal(ctx, &auth.Principal{AccountID: "a"}))
	if err != nil {
		t.Fatal(err)
	}
	subB, err := r.accountEvents(auth.WithPrincipal(ctx, &auth.Principal{AccountID: "b"}))
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range []struct{ account, payload string }{{"b", `{"to":"b"}`}, {"a", `{"to":"a"}`}} {
		if err := bus.Publish(ctx, marketgraph.AccountTopic(m.account), []byte(m.payload)); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range []struct {
		sub  *pubsub.Subscription
		want string
	}{{subA, `{"to":"a"}`}, {subB, `{"to":"b"}`}} {
		select {
		case got := <-c.sub.C:
			if string(got) != c.want {
				t.Fatalf("%s got %s, want %s", c.sub.Topic(), got, c.want)
			}
		case <-ctx.Done():
			t.Fatal("no event")
		}
		select {
		case got := <-c.sub.C:
			t.Fatalf("%s also got %s", c.sub.Topic(), got)
		default:
		}
	}
}
