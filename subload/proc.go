package subload

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// clockTicks is the unit of the CPU times in /proc/PID/stat (USER_HZ),
// 100 on every Linux architecture Go runs on.
const clockTicks = 100

// usage is a process's resident memory and the CPU time it has used so far.
type usage struct {
	rss uint64
	cpu time.Duration
}

// readUsage reads the usage of process pid ("self" for this one) from
// /proc. Resident memory is VmRSS: what the kernel holds for the process,
// runtime and garbage included, which is what a machine has to provide.
// CPU time is user plus system, over all threads. Linux only; elsewhere it
// fails.
func readUsage(pid string) (usage, error) {
	var u usage
	b, err := os.ReadFile("/proc/" + pid + "/status")
	if err != nil {
		return u, fmt.Errorf("read the memory of process %s: %w", pid, err)
	}
	if u.rss, err = vmRSS(b); err != nil {
		return u, fmt.Errorf("process %s: %w", pid, err)
	}
	b, err = os.ReadFile("/proc/" + pid + "/stat")
	if err != nil {
		return u, fmt.Errorf("read the CPU time of process %s: %w", pid, err)
	}
	if u.cpu, err = cpuTime(b); err != nil {
		return u, fmt.Errorf("process %s: %w", pid, err)
	}
	return u, nil
}

// vmRSS is the VmRSS line of a /proc/PID/status, in bytes.
func vmRSS(status []byte) (uint64, error) {
	s := bufio.NewScanner(bytes.NewReader(status))
	for s.Scan() {
		line, ok := bytes.CutPrefix(s.Bytes(), []byte("VmRSS:"))
		if !ok {
			continue
		}
		if f := bytes.Fields(line); len(f) == 2 && string(f[1]) == "kB" {
			if kb, err := strconv.ParseUint(string(f[0]), 10, 64); err == nil {
				return kb << 10, nil
			}
		}
		break
	}
	return 0, fmt.Errorf("no VmRSS in kB in /proc/PID/status")
}

// cpuTime is utime + stime of a /proc/PID/stat. The command name, in
// parentheses, may hold spaces: fields are counted from its end.
func cpuTime(stat []byte) (time.Duration, error) {
	s := string(stat)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, fmt.Errorf("unexpected /proc/PID/stat")
	}
	f := strings.Fields(s[i+1:])
	// f[0] is field 3 (state); utime and stime are fields 14 and 15.
	if len(f) < 13 {
		return 0, fmt.Errorf("unexpected /proc/PID/stat")
	}
	user, err1 := strconv.ParseUint(f[11], 10, 64)
	sys, err2 := strconv.ParseUint(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("unexpected /proc/PID/stat")
	}
	return time.Duration(user+sys) * time.Second / clockTicks, nil
}

// loadAverage is the machine's one-minute load average, "" when unknown.
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return ""
	}
	if f := strings.Fields(string(b)); len(f) > 0 {
		return f[0]
	}
	return ""
}
