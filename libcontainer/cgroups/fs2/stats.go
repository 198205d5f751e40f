package fs2

import (
	"bufio"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/teu-runtime/teu/libcontainer/cgroups"
	"github.com/teu-runtime/teu/libcontainer/system"
)

// Usage is a snapshot of the cgroup's v2 counters, in the shape of runc's
// types/events (`events --stats`): times in nanoseconds, sizes in bytes,
// swap reported v1-style as memory+swap. Stats maps it onto
// cgroups.Stats; Usage adds what that lacks (OOM kills).
type Usage struct {
	CPU     CPUUsage
	Memory  MemoryUsage
	Pids    PidsUsage
	IO      []IOEntry
	Hugetlb map[string]HugetlbUsage // by page size ("2MB")
	// Pressure stall information, nil where the kernel has none (no
	// CONFIG_PSI, psi=0, or "0" in cgroup.pressure).
	CPUPressure, MemoryPressure, IOPressure *cgroups.PSIStats
}

type CPUUsage struct {
	Total, User, Kernel                      uint64 // ns
	Periods, ThrottledPeriods, ThrottledTime uint64 // ThrottledTime in ns
}

type MemoryEntry struct {
	Usage, Limit, Max, Failcnt uint64 // Limit math.MaxUint64 when unlimited
}

type MemoryUsage struct {
	Cache   uint64 // page cache ("file" in memory.stat)
	Usage   MemoryEntry
	Swap    MemoryEntry // memory+swap, as v1 reports it
	OOMKill uint64      // memory.events oom_kill
	Raw     map[string]uint64
}

type PidsUsage struct {
	Current, Limit uint64 // Limit 0 when unlimited
}

// IOEntry is one counter of one device from io.stat, with runc's op names.
type IOEntry struct {
	Major, Minor uint64
	Op           string // "Read", "Write", "Discard" (bytes), or with "IOs" suffix for counts
	Value        uint64
}

type HugetlbUsage struct {
	Usage, Max, Failcnt uint64
}

// Usage reads the cgroup's counters. Files of controllers not enabled for
// the cgroup are skipped (their parts stay zero).
func (m *Manager) Usage() (*Usage, error) {
	u := &Usage{Hugetlb: map[string]HugetlbUsage{}}
	for _, f := range []func(*Usage) error{m.cpuUsage, m.memoryUsage, m.pidsUsage, m.ioUsage, m.hugetlbUsage, m.pressure} {
		if err := f(u); err != nil && !errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("cgroup stats: %w", err)
		}
	}
	return u, nil
}

// Stats returns the usage snapshot in runc's `events --stats` shape.
func (m *Manager) Stats() (*cgroups.Stats, error) {
	u, err := m.Usage()
	if err != nil {
		return nil, err
	}
	return u.stats(), nil
}

func (u *Usage) stats() *cgroups.Stats {
	s := cgroups.NewStats()
	s.CPU.Usage = cgroups.CPUUsage{Total: u.CPU.Total, Kernel: u.CPU.Kernel, User: u.CPU.User}
	s.CPU.Throttling = cgroups.Throttling{Periods: u.CPU.Periods,
		ThrottledPeriods: u.CPU.ThrottledPeriods, ThrottledTime: u.CPU.ThrottledTime}
	entry := func(e MemoryEntry) cgroups.MemoryEntry {
		return cgroups.MemoryEntry{Limit: e.Limit, Usage: e.Usage, Max: e.Max, Failcnt: e.Failcnt}
	}
	s.Memory = cgroups.Memory{Cache: u.Memory.Cache, Usage: entry(u.Memory.Usage), Swap: entry(u.Memory.Swap), Raw: u.Memory.Raw}
	s.Pids = cgroups.Pids{Current: u.Pids.Current, Limit: u.Pids.Limit}
	for _, e := range u.IO {
		if op, ok := strings.CutSuffix(e.Op, "IOs"); ok {
			s.Blkio.IoServicedRecursive = append(s.Blkio.IoServicedRecursive,
				cgroups.BlkioEntry{Major: e.Major, Minor: e.Minor, Op: op, Value: e.Value})
		} else {
			s.Blkio.IoServiceBytesRecursive = append(s.Blkio.IoServiceBytesRecursive,
				cgroups.BlkioEntry{Major: e.Major, Minor: e.Minor, Op: e.Op, Value: e.Value})
		}
	}
	for size, h := range u.Hugetlb {
		s.Hugetlb[size] = cgroups.Hugetlb{Usage: h.Usage, Max: h.Max, Failcnt: h.Failcnt}
	}
	s.CPU.PSI, s.Memory.PSI, s.Blkio.PSI = u.CPUPressure, u.MemoryPressure, u.IOPressure
	return s
}

// pressure reads the cgroup's PSI files (Linux 4.20+ with CONFIG_PSI).
func (m *Manager) pressure(u *Usage) error {
	for _, p := range []struct {
		file string
		dst  **cgroups.PSIStats
	}{{"cpu.pressure", &u.CPUPressure}, {"memory.pressure", &u.MemoryPressure}, {"io.pressure", &u.IOPressure}} {
		ps, err := readPSI(filepath.Join(m.dir, p.file))
		if err != nil {
			return err
		}
		*p.dst = ps
	}
	return nil
}

// readPSI parses a pressure file:
//
//	some avg10=0.00 avg60=0.00 avg300=0.00 total=0
//	full avg10=0.00 avg60=0.00 avg300=0.00 total=0
//
// A missing file, or one the kernel refuses to read (EOPNOTSUPP: PSI
// compiled in but off, psi=0), is nil: no pressure to report.
func readPSI(file string) (*cgroups.PSIStats, error) {
	b, err := system.ReadFile(file)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) || errors.Is(err, unix.EOPNOTSUPP) {
			return nil, nil
		}
		return nil, err
	}
	var ps cgroups.PSIStats
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		var d *cgroups.PSIData
		switch f[0] {
		case "some":
			d = &ps.Some
		case "full":
			d = &ps.Full
		default:
			continue
		}
		for _, kv := range f[1:] {
			k, v, ok := strings.Cut(kv, "=")
			if !ok {
				return nil, fmt.Errorf("parse %s: %q", file, line)
			}
			var err error
			switch k {
			case "avg10":
				d.Avg10, err = strconv.ParseFloat(v, 64)
			case "avg60":
				d.Avg60, err = strconv.ParseFloat(v, 64)
			case "avg300":
				d.Avg300, err = strconv.ParseFloat(v, 64)
			case "total":
				d.Total, err = strconv.ParseUint(v, 10, 64)
			}
			if err != nil {
				return nil, fmt.Errorf("parse %s: %q: %w", file, kv, err)
			}
		}
	}
	return &ps, nil
}

// readKV parses a flat keyed file ("key value" per line).
func readKV(file string) (map[string]uint64, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	kv := map[string]uint64{}
	s := bufio.NewScanner(f)
	for s.Scan() {
		k, v, ok := strings.Cut(strings.TrimSpace(s.Text()), " ")
		if !ok {
			continue
		}
		n, err := strconv.ParseUint(strings.TrimSpace(v), 10, 64)
		if err != nil {
			return nil, fmt.Errorf("parse %s: %q: %w", file, s.Text(), err)
		}
		kv[k] = n
	}
	return kv, s.Err()
}

func (m *Manager) cpuUsage(u *Usage) error {
	kv, err := readKV(filepath.Join(m.dir, "cpu.stat"))
	if err != nil {
		return err
	}
	c := &u.CPU
	c.Total, c.User, c.Kernel = kv["usage_usec"]*1000, kv["user_usec"]*1000, kv["system_usec"]*1000
	c.Periods, c.ThrottledPeriods, c.ThrottledTime = kv["nr_periods"], kv["nr_throttled"], kv["throttled_usec"]*1000
	return nil
}

// optUint reads a counter that older kernels lack (memory.peak is 5.19+).
func optUint(file string) (uint64, error) {
	v, err := readUint(file)
	if errors.Is(err, os.ErrNotExist) {
		return 0, nil
	}
	return v, err
}

func (m *Manager) memoryUsage(u *Usage) error {
	raw, err := readKV(filepath.Join(m.dir, "memory.stat"))
	if err != nil {
		return err
	}
	mu := &u.Memory
	mu.Raw = raw
	mu.Cache = raw["file"]
	if mu.Usage.Usage, err = readUint(filepath.Join(m.dir, "memory.current")); err != nil {
		return err
	}
	if mu.Usage.Limit, err = readUint(filepath.Join(m.dir, "memory.max")); err != nil {
		return err
	}
	if mu.Usage.Max, err = optUint(filepath.Join(m.dir, "memory.peak")); err != nil {
		return err
	}
	if ev, err := readKV(filepath.Join(m.dir, "memory.events")); err == nil {
		mu.Usage.Failcnt = ev["max"]
		mu.OOMKill = ev["oom_kill"]
	}
	// Without swap accounting there are no memory.swap.* files.
	swap, err := optUint(filepath.Join(m.dir, "memory.swap.current"))
	if err != nil {
		return err
	}
	mu.Swap.Usage = swap + mu.Usage.Usage
	mu.Swap.Limit = math.MaxUint64
	if sl, err := readUint(filepath.Join(m.dir, "memory.swap.max")); err == nil && sl != math.MaxUint64 && mu.Usage.Limit != math.MaxUint64 {
		mu.Swap.Limit = sl + mu.Usage.Limit
	}
	return nil
}

func (m *Manager) pidsUsage(u *Usage) error {
	cur, err := readUint(filepath.Join(m.dir, "pids.current"))
	if err != nil {
		return err
	}
	u.Pids.Current = cur
	if l, err := readUint(filepath.Join(m.dir, "pids.max")); err == nil && l != math.MaxUint64 {
		u.Pids.Limit = l
	}
	return nil
}

var ioOps = map[string]string{
	"rbytes": "Read", "wbytes": "Write", "dbytes": "Discard",
	"rios": "ReadIOs", "wios": "WriteIOs", "dios": "DiscardIOs",
}

// ioUsage parses io.stat: "MAJ:MIN rbytes=N wbytes=N rios=N ...".
func (m *Manager) ioUsage(u *Usage) error {
	b, err := system.ReadFile(filepath.Join(m.dir, "io.stat"))
	if err != nil {
		return err
	}
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		maj, min, ok := strings.Cut(f[0], ":")
		if !ok {
			continue
		}
		ma, err1 := strconv.ParseUint(maj, 10, 64)
		mi, err2 := strconv.ParseUint(min, 10, 64)
		if err1 != nil || err2 != nil {
			return fmt.Errorf("parse io.stat device %q", f[0])
		}
		for _, kv := range f[1:] {
			k, v, _ := strings.Cut(kv, "=")
			op, known := ioOps[k]
			if !known {
				continue
			}
			n, err := strconv.ParseUint(v, 10, 64)
			if err != nil {
				return fmt.Errorf("parse io.stat %q: %w", kv, err)
			}
			u.IO = append(u.IO, IOEntry{Major: ma, Minor: mi, Op: op, Value: n})
		}
	}
	return nil
}

func (m *Manager) hugetlbUsage(u *Usage) error {
	cur, err := filepath.Glob(filepath.Join(m.dir, "hugetlb.*.current"))
	if err != nil {
		return err
	}
	for _, f := range cur {
		size := strings.TrimSuffix(strings.TrimPrefix(filepath.Base(f), "hugetlb."), ".current")
		if strings.Contains(size, ".") { // hugetlb.2MB.rsvd.current
			continue
		}
		var h HugetlbUsage
		if h.Usage, err = readUint(f); err != nil {
			return err
		}
		if ev, err := readKV(filepath.Join(m.dir, "hugetlb."+size+".events")); err == nil {
			h.Failcnt = ev["max"]
		}
		// v2 has no peak; Max stays 0 as in runc.
		u.Hugetlb[size] = h
	}
	return nil
}
