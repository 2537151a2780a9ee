package subload

import (
	"testing"
	"time"
)

func TestProc(t *testing.T) {
	t.Run("VmRSS", func(t *testing.T) {
		got, err := vmRSS([]byte("Name:\tmg\nVmPeak:\t  2000 kB\nVmRSS:\t  1234 kB\nThreads:\t8\n"))
		if err != nil || got != 1234<<10 {
			t.Errorf("vmRSS = %d, %v", got, err)
		}
		if _, err := vmRSS([]byte("Name:\tmg\n")); err == nil {
			t.Error("no VmRSS line: no error")
		}
	})
	t.Run("CPUTime", func(t *testing.T) {
		// A command name with spaces and a parenthesis does not shift
		// the fields.
		stat := "24844 (m) g x) S 1 24769 7047 0 -1 4194304 102760 0 0 0 2346 317 0 0 20 0 8 0 77860\n"
		got, err := cpuTime([]byte(stat))
		if want := 26630 * time.Millisecond; err != nil || got != want {
			t.Errorf("cpuTime = %s, %v; want %s", got, err, want)
		}
		if _, err := cpuTime([]byte("1 (x) S 1 2")); err == nil {
			t.Error("short stat: no error")
		}
	})
	t.Run("Self", func(t *testing.T) {
		u, err := readUsage("self")
		if err != nil {
			t.Skipf("no /proc here: %v", err)
		}
		if u.rss == 0 {
			t.Errorf("own usage %+v", u)
		}
	})
}
