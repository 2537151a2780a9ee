package resolvers_test

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"testing"
)

// TestAssets_Paging walks the whole catalog through the GraphQL connection in
// pages of 7, for every ordering, and checks every asset appears exactly once
// and the cursors chain.
func TestAssets_Paging(t *testing.T) {
	store, ds, quotes := memoryFixture(t)
	h := newHandler(store, quotes, slog.New(slog.DiscardHandler))
	const q = `query($after: String, $order: AssetOrder) {
		assets(first: 7, after: $after, orderBy: $order) {
			totalCount
			edges { cursor node { id } }
			pageInfo { hasNextPage endCursor }
		}
	}`
	for _, field := range []string{"RANK", "NAME", "MARKET_CAP", "CHANGE_24H"} {
		for _, dir := range []string{"ASC", "DESC"} {
			t.Run(field+"_"+dir, func(t *testing.T) {
				seen := map[string]bool{}
				var after any
				for page := 0; ; page++ {
					if page > 20 {
						t.Fatal("paging does not end")
					}
					body := post(t, h, q, map[string]any{"after": after, "order": map[string]any{"field": field, "direction": dir}})
					r := decode(t, body)
					if len(r.Errors) > 0 {
						t.Fatalf("errors: %s", body)
					}
					var data struct {
						Assets struct {
							TotalCount int
							Edges      []struct {
								Cursor string
								Node   struct{ ID string }
							}
							PageInfo struct {
								HasNextPage bool
								EndCursor   *string
							}
						}
					}
					if err := json.Unmarshal(r.Data, &data); err != nil {
						t.Fatal(err)
					}
					c := data.Assets
					if c.TotalCount != len(ds.Assets) {
						t.Fatalf("totalCount = %d, want %d", c.TotalCount, len(ds.Assets))
					}
					for _, e := range c.Edges {
						if seen[e.Node.ID] {
							t.Fatalf("page %d: %s seen twice", page, e.Node.ID)
						}
						seen[e.Node.ID] = true
					}
					if n := len(c.Edges); n > 0 && (c.PageInfo.EndCursor == nil || *c.PageInfo.EndCursor != c.Edges[n-1].Cursor) {
						t.Fatalf("endCursor is not the last edge's cursor")
					}
					if !c.PageInfo.HasNextPage {
						break
					}
					after = *c.PageInfo.EndCursor
				}
				if len(seen) != len(ds.Assets) {
					t.Errorf("saw %d assets, want %d", len(seen), len(ds.Assets))
				}
			})
		}
	}

	t.Run("CursorOfAnotherOrdering", func(t *testing.T) {
		body := post(t, h, q, map[string]any{"order": map[string]any{"field": "NAME"}})
		var data struct {
			Assets struct{ PageInfo struct{ EndCursor string } }
		}
		if err := json.Unmarshal(decode(t, body).Data, &data); err != nil {
			t.Fatal(err)
		}
		body = post(t, h, q, map[string]any{"after": data.Assets.PageInfo.EndCursor, "order": map[string]any{"field": "RANK"}})
		r := decode(t, body)
		if len(r.Errors) != 1 || r.Errors[0].Extensions["code"] != "BAD_USER_INPUT" {
			t.Errorf("want BAD_USER_INPUT, got %s", body)
		}
	})

	t.Run("CursorOfOtherDirection", func(t *testing.T) {
		body := post(t, h, q, map[string]any{"order": map[string]any{"field": "NAME", "direction": "ASC"}})
		var data struct {
			Assets struct{ PageInfo struct{ EndCursor string } }
		}
		if err := json.Unmarshal(decode(t, body).Data, &data); err != nil {
			t.Fatal(err)
		}
		body = post(t, h, q, map[string]any{"after": data.Assets.PageInfo.EndCursor, "order": map[string]any{"field": "NAME", "direction": "DESC"}})
		r := decode(t, body)
		if len(r.Errors) != 1 || r.Errors[0].Extensions["code"] != "BAD_USER_INPUT" {
			t.Errorf("want BAD_USER_INPUT, got %s", body)
		}
	})

	t.Run("FilterSearchCaseInsensitive", func(t *testing.T) {
		body := post(t, h, `{ assets(first: 250, filter: {search: "BiTcOiN"}) { totalCount edges { node { id name } } } }`, nil)
		var data struct {
			Assets struct {
				TotalCount int
				Edges      []struct{ Node struct{ ID, Name string } }
			}
		}
		if err := json.Unmarshal(decode(t, body).Data, &data); err != nil {
			t.Fatal(err)
		}
		if data.Assets.TotalCount == 0 || data.Assets.Edges[0].Node.ID != "bitcoin" {
			t.Errorf("search for bitcoin: %s", body)
		}
		if data.Assets.TotalCount != len(data.Assets.Edges) {
			t.Errorf("totalCount %d != edges %d", data.Assets.TotalCount, len(data.Assets.Edges))
		}
	})

	t.Run("FirstZero", func(t *testing.T) {
		body := post(t, h, `{ assets(first: 0) { totalCount edges { cursor } pageInfo { hasNextPage endCursor } } }`, nil)
		want := fmt.Sprintf(`{"data":{"assets":{"totalCount":%d,"edges":[],"pageInfo":{"hasNextPage":true,"endCursor":null}}}}`, len(ds.Assets))
		if got := string(compact(t, body)); got != want {
			t.Errorf("got %s, want %s", got, want)
		}
	})
}
