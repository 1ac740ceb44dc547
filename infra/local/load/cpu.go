package main

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// clockTick is the unit of utime and stime in /proc/<pid>/stat (USER_HZ,
// 100 on every Linux architecture Go supports).
const clockTick = 10 * time.Millisecond

// cpuTime is the CPU time (user + system, every thread) process pid has
// used so far, read from /proc (Linux). On a machine shared with other
// work the requests per second of both servers swing with the load, but
// the CPU each spends per request does not much.
func cpuTime(pid int) (time.Duration, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, err
	}
	// The command name (field 2) is in parentheses and may hold spaces:
	// count the fields after its closing one.
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, fmt.Errorf("/proc/%d/stat: no command name", pid)
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 13 {
		return 0, fmt.Errorf("/proc/%d/stat: %d fields", pid, len(f))
	}
	var ticks int64
	for _, field := range f[11:13] { // utime (14) and stime (15), counting from 1 with pid and comm
		n, err := strconv.ParseInt(field, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("/proc/%d/stat: %w", pid, err)
		}
		ticks += n
	}
	return time.Duration(ticks) * clockTick, nil
}

// cpuMeter measures one server process's CPU time over a scenario; a zero
// pid measures nothing.
type cpuMeter struct {
	pid   int
	start time.Duration
	err   error
}

func startCPU(pid int) *cpuMeter {
	m := &cpuMeter{pid: pid}
	if pid != 0 {
		m.start, m.err = cpuTime(pid)
	}
	return m
}

// used is the CPU time since startCPU.
func (m *cpuMeter) used() (time.Duration, error) {
	if m.pid == 0 || m.err != nil {
		return 0, m.err
	}
	now, err := cpuTime(m.pid)
	return now - m.start, err
}

// waitIdle waits until the process has used at most one tick of CPU in
// each of two successive 200 ms intervals (its background work is done:
// the product's pipeline has priced every conversion), or limit passed,
// and returns the CPU time used since startCPU up to the start of the
// quiet intervals.
func (m *cpuMeter) waitIdle(ctx context.Context, limit time.Duration) (time.Duration, error) {
	if m.pid == 0 || m.err != nil {
		return 0, m.err
	}
	deadline := time.Now().Add(limit)
	var last []time.Duration
	for {
		now, err := cpuTime(m.pid)
		if err != nil {
			return 0, err
		}
		last = append(last, now)
		if n := len(last); n >= 3 && last[n-1]-last[n-3] <= 2*clockTick {
			return last[n-3] - m.start, nil
		}
		if time.Now().After(deadline) {
			return now - m.start, nil
		}
		select {
		case <-ctx.Done():
			return 0, ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// perRequest formats CPU time per answered request.
func perRequest(cpu time.Duration, requests uint64) string {
	if requests == 0 {
		return "—"
	}
	return fmt.Sprintf("%.0f µs", float64(cpu.Microseconds())/float64(requests))
}
