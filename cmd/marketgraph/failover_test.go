package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/marketgraph/marketgraph/internal/pgtest"
	"github.com/marketgraph/marketgraph/marketdata/coingecko/cgfake"
)

// TestMain lets a test start this test binary as a real marketgraph
// process: with MARKETGRAPH_TEST_RUN set, it runs the command line in it
// instead of the tests, so a test can kill -9 it.
func TestMain(m *testing.M) {
	if args := os.Getenv("MARKETGRAPH_TEST_RUN"); args != "" {
		if err := run(context.Background(), strings.Fields(args), os.Getenv, os.Stdout, os.Stderr); err != nil {
			fmt.Fprintln(os.Stderr, "marketgraph:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// startProcess starts `marketgraph <args>` as a child process and waits for
// its first line of output.
func startProcess(t *testing.T, env []string, args string) *exec.Cmd {
	t.Helper()
	cmd, _ := startProcessLine(t, env, args)
	return cmd
}

// startProcessLine is startProcess, also returning the first line.
func startProcessLine(t *testing.T, env []string, args string) (*exec.Cmd, string) {
	t.Helper()
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(append(os.Environ(), "MARKETGRAPH_TEST_RUN="+args), env...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = io.Discard
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		t.Fatalf("%s printed nothing: %v", args, err)
	}
	go io.Copy(io.Discard, stdout)
	t.Logf("%s: %s", args, strings.TrimSpace(line))
	return cmd, line
}

// TestIngest_Failover: two ingest processes share a database; exactly one
// ingests (one quote call per tick reaches the upstream); when it is killed
// with SIGKILL the other takes over within a few ticks.
func TestIngest_Failover(t *testing.T) {
	url := pgtest.NewDatabase(t)
	ctx := context.Background()
	vars := map[string]string{"DATABASE_URL": url}
	for _, c := range []string{"migrate", "seed"} {
		if err := run(ctx, []string{c}, env(vars), io.Discard, io.Discard); err != nil {
			t.Fatal(err)
		}
	}
	fake, upstream := fakeUpstream(t)
	const tick = 200 * time.Millisecond
	procEnv := []string{"DATABASE_URL=" + url, "MARKETGRAPH_PROVIDER=coingecko", "MARKETGRAPH_PROVIDER_URL=" + upstream,
		"MARKETGRAPH_PROVIDER_BUDGET=-1", "MARKETGRAPH_QUOTE_TTL=1ms", "MARKETGRAPH_TICK=" + tick.String(), "MARKETGRAPH_LOG_LEVEL=error"}

	calls := func() int { return fake.Calls(cgfake.PathSimplePrice) }
	// rate counts upstream calls over a window: one leader makes about one
	// per tick; two leaders would make about two.
	rate := func(window time.Duration) float64 {
		before := calls()
		time.Sleep(window)
		return float64(calls()-before) / float64(window/tick)
	}
	waitCalls := func(what string) {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		for before := calls(); calls() < before+3; time.Sleep(tick / 2) {
			if time.Now().After(deadline) {
				t.Fatalf("%s: no ingest ticks reach the upstream", what)
			}
		}
	}

	a := startProcess(t, procEnv, "ingest")
	waitCalls("first process")
	b := startProcess(t, procEnv, "ingest")
	time.Sleep(2 * tick)
	if r := rate(10 * tick); r > 1.5 {
		t.Errorf("with two processes the upstream sees %.1f calls per tick; only one process may ingest", r)
	}

	killed := time.Now()
	if err := a.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_, _ = a.Process.Wait()
	waitCalls("after the kill")
	t.Logf("the second process took over %s after the kill (tick %s)", time.Since(killed).Round(10*time.Millisecond), tick)
	if r := rate(10 * tick); r == 0 || r > 1.5 {
		t.Errorf("after takeover the upstream sees %.1f calls per tick, want some, and at most one per tick", r)
	}

	// A leader that freezes (SIGSTOP) holds its connection open but stops
	// pinging: the server ends its idle session and a third process takes
	// over; when the frozen one wakes it finds its lock gone.
	startProcess(t, procEnv, "ingest")
	if err := b.Process.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	frozen := time.Now()
	waitCalls("after freezing the leader")
	t.Logf("a third process took over %s after the leader froze", time.Since(frozen).Round(10*time.Millisecond))
	if err := b.Process.Signal(syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	time.Sleep(5 * tick)
	if r := rate(10 * tick); r == 0 || r > 1.5 {
		t.Errorf("after the frozen leader woke the upstream sees %.1f calls per tick; it must not lead again", r)
	}
}
