package main

import (
	"context"
	"encoding/json"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/marketgraph/marketgraph"
)

func TestConfig_Resume(t *testing.T) {
	t.Run("Invalid", func(t *testing.T) {
		for _, tc := range []struct {
			name    string
			cmd     string
			args    []string
			vars    map[string]string
			mention string
		}{
			{"WindowZero", "serve", []string{"-resume-window", "0s"}, nil, "-resume-window / MARKETGRAPH_RESUME_WINDOW: must be between 1s and 24h0m0s, got 0s"},
			{"WindowTooLong", "ingest", []string{"-resume-window", "25h"}, nil, "-resume-window"},
			{"WindowNotADuration", "serve", nil, map[string]string{"MARKETGRAPH_RESUME_WINDOW": "soon"}, `MARKETGRAPH_RESUME_WINDOW: "soon" is not a duration`},
			{"BufferNegative", "serve", []string{"-resume-buffer", "-1"}, nil, "-resume-buffer / MARKETGRAPH_RESUME_BUFFER: must be between 1 and 100000"},
			{"BufferTooLarge", "ingest", nil, map[string]string{"MARKETGRAPH_RESUME_BUFFER": "100001"}, "MARKETGRAPH_RESUME_BUFFER"},
			{"BufferNotANumber", "serve", nil, map[string]string{"MARKETGRAPH_RESUME_BUFFER": "lots"}, `MARKETGRAPH_RESUME_BUFFER: "lots" is not an integer`},
		} {
			t.Run(tc.name, func(t *testing.T) {
				_, err := parseConfig(tc.cmd, tc.args, env(tc.vars), io.Discard)
				if err == nil || !strings.Contains(err.Error(), tc.mention) {
					t.Errorf("error %v, want one mentioning %q", err, tc.mention)
				}
			})
		}
	})
	t.Run("Buffer", func(t *testing.T) {
		for _, tc := range []struct {
			name string
			args []string
			want int
		}{
			// The default window is 5 minutes; a tenth more, and one.
			{"SimulatorTick", nil, 300 + 30 + 1},
			{"CoinGeckoTick", []string{"-provider", "coingecko"}, 30 + 3 + 1},
			{"LongerWindow", []string{"-resume-window", "10m", "-tick", "2s"}, 300 + 30 + 1},
			{"Explicit", []string{"-resume-buffer", "50"}, 50},
			{"CappedAtFastTicks", []string{"-tick", "1ms"}, maxResumeBuffer},
		} {
			t.Run(tc.name, func(t *testing.T) {
				c, err := parseConfig("serve", tc.args, env(nil), io.Discard)
				if err != nil {
					t.Fatal(err)
				}
				if got := resumeBuffer(c); got != tc.want {
					t.Errorf("resumeBuffer = %d, want %d", got, tc.want)
				}
			})
		}
	})
	t.Run("Environment", func(t *testing.T) {
		c, err := parseConfig("ingest", nil, env(map[string]string{"MARKETGRAPH_RESUME_WINDOW": "90s", "MARKETGRAPH_RESUME_BUFFER": "7"}), io.Discard)
		if err != nil {
			t.Fatal(err)
		}
		if c.ResumeWindow != 90*time.Second || c.ResumeBuffer != 7 {
			t.Errorf("window %s, buffer %d; want 90s and 7", c.ResumeWindow, c.ResumeBuffer)
		}
	})
}

// The bus cmd/marketgraph builds retains the configured number of ticks
// per asset, and no signals.
func TestNewBus_RetainsTicks(t *testing.T) {
	c, err := parseConfig("serve", []string{"-resume-buffer", "3"}, env(nil), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	bus, _, err := newBus(context.Background(), c, newLogger(io.Discard, 0))
	if err != nil {
		t.Fatal(err)
	}
	defer bus.Close()
	ctx := context.Background()
	for seq := range uint64(5) {
		b, _ := json.Marshal(marketgraph.PriceTick{AssetID: "bitcoin", Sequence: seq + 1})
		if err := bus.Publish(ctx, marketgraph.TickTopic("bitcoin"), b); err != nil {
			t.Fatal(err)
		}
	}
	if err := bus.Publish(ctx, marketgraph.SignalTopic("bitcoin"), []byte(`{}`)); err != nil {
		t.Fatal(err)
	}
	ticks, _ := bus.History(ctx, marketgraph.TickTopic("bitcoin"), 0)
	signals, _ := bus.History(ctx, marketgraph.SignalTopic("bitcoin"), 0)
	if len(ticks) != 3 || len(signals) != 0 {
		t.Errorf("retained %d ticks and %d signals, want 3 and none", len(ticks), len(signals))
	}
}
