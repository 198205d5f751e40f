package fs1

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/teu-runtime/teu/libcontainer/cgroups"
)

func cpuWanted(r *specs.LinuxResources) bool {
	c := r.CPU
	return c != nil && (u64(c.Shares) != 0 || val(c.Quota) != 0 || u64(c.Period) != 0 || c.Burst != nil ||
		val(c.RealtimeRuntime) != 0 || u64(c.RealtimePeriod) != 0 || c.Idle != nil)
}

func u64(p *uint64) uint64 {
	if p == nil {
		return 0
	}
	return *p
}

func setCPU(dir string, r *specs.LinuxResources) error {
	c := r.CPU
	if c == nil {
		return nil
	}
	// Realtime first: a cgroup must have an RT budget before RT tasks run.
	// The period and the runtime constrain each other (runtime <= period):
	// a period the kernel refuses before the new runtime is in is written
	// again after it, as runc does.
	rtPeriod, rt := u64(c.RealtimePeriod), val(c.RealtimeRuntime)
	retry := false
	if rtPeriod != 0 {
		if err := writeFile(dir, "cpu.rt_period_us", strconv.FormatUint(rtPeriod, 10)); err != nil {
			if !errors.Is(err, unix.EINVAL) || rt == 0 {
				return err
			}
			retry = true
		}
	}
	if rt != 0 {
		if err := writeFile(dir, "cpu.rt_runtime_us", strconv.FormatInt(rt, 10)); err != nil {
			return err
		}
		if retry {
			if err := writeFile(dir, "cpu.rt_period_us", strconv.FormatUint(rtPeriod, 10)); err != nil {
				return err
			}
		}
	}
	if sh := u64(c.Shares); sh != 0 {
		if err := writeFile(dir, "cpu.shares", strconv.FormatUint(sh, 10)); err != nil {
			return err
		}
		// The kernel clamps shares silently; say so, as runc does.
		got, err := cgroups.ReadUint(dir, "cpu.shares")
		if err != nil {
			return fmt.Errorf("read cpu.shares: %w", err)
		}
		if sh > got {
			return fmt.Errorf("the maximum allowed cpu-shares is %d", got)
		} else if sh < got {
			return fmt.Errorf("the minimum allowed cpu-shares is %d", got)
		}
	}
	// A smaller period can be refused (EINVAL) while the old quota would
	// exceed the parent's; then it is retried after the quota.
	var period string
	if p := u64(c.Period); p != 0 {
		period = strconv.FormatUint(p, 10)
		if err := writeFile(dir, "cpu.cfs_period_us", period); err != nil {
			if !errors.Is(err, unix.EINVAL) || val(c.Quota) == 0 {
				return err
			}
		} else {
			period = ""
		}
	}
	if q := val(c.Quota); q != 0 {
		if q < 0 {
			q = -1
		}
		if err := writeFile(dir, "cpu.cfs_quota_us", strconv.FormatInt(q, 10)); err != nil {
			return err
		}
		if period != "" {
			if err := writeFile(dir, "cpu.cfs_period_us", period); err != nil {
				return err
			}
		}
	}
	if c.Burst != nil {
		if err := writeIfExists(dir, "cpu.cfs_burst_us", strconv.FormatUint(*c.Burst, 10), *c.Burst != 0); err != nil {
			return err
		}
	}
	if c.Idle != nil {
		if err := writeIfExists(dir, "cpu.idle", strconv.FormatInt(*c.Idle, 10), *c.Idle != 0); err != nil {
			return err
		}
	}
	return nil
}

// writeIfExists writes a file newer kernels have; where it is missing, a
// non-default value is worth a warning, not a failure.
func writeIfExists(dir, file, v string, nonDefault bool) error {
	if !exists(dir, file) {
		if nonDefault {
			slog.Warn("cgroup file missing on this kernel, value ignored", "file", file, "value", v)
		}
		return nil
	}
	return writeFile(dir, file, v)
}

func cpuStats(dir string, s *cgroups.Stats) error {
	kv, err := cgroups.ReadKeyValues(dir, "cpu.stat")
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil
		}
		return err
	}
	s.CPU.Throttling = cgroups.Throttling{
		Periods: kv["nr_periods"], ThrottledPeriods: kv["nr_throttled"], ThrottledTime: kv["throttled_time"],
	}
	return nil
}

// clockTicks is USER_HZ, the unit of cpuacct.stat: 100 on every Linux ABI.
const clockTicks = 100

func cpuacctStats(dir string, s *cgroups.Stats) error {
	total, err := cgroups.ReadUint(dir, "cpuacct.usage")
	if err != nil {
		return err
	}
	s.CPU.Usage.Total = total
	if s.CPU.Usage.Percpu, err = readUints(dir, "cpuacct.usage_percpu"); err != nil {
		return err
	}
	// Optional, newer files.
	s.CPU.Usage.PercpuKernel, _ = readUints(dir, "cpuacct.usage_percpu_sys")
	s.CPU.Usage.PercpuUser, _ = readUints(dir, "cpuacct.usage_percpu_user")
	if kv, err := cgroups.ReadKeyValues(dir, "cpuacct.stat"); err == nil {
		s.CPU.Usage.User = kv["user"] * (1e9 / clockTicks)
		s.CPU.Usage.Kernel = kv["system"] * (1e9 / clockTicks)
	}
	return nil
}

func readUints(dir, file string) ([]uint64, error) {
	data, err := cgroups.ReadFile(dir, file)
	if err != nil {
		return nil, err
	}
	var out []uint64
	for _, f := range strings.Fields(data) {
		v, err := cgroups.ParseUint(f)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", file, err)
		}
		out = append(out, v)
	}
	return out, nil
}
