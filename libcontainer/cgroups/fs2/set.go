package fs2

import (
	"errors"
	"fmt"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/teu-runtime/teu/libcontainer/cgroups"
)

// Set writes the resource limits in r to the cgroup's files. Fields that
// are nil are left alone, so Set serves both create and update. The
// unified map is written last: where it names the same file as a typed
// field, it wins.
func (m *Manager) Set(r *specs.LinuxResources) error {
	if r == nil {
		return nil
	}
	if m.rootless && !m.Exists() {
		// Apply found no delegated cgroup to use: fine unless limits
		// were asked for (device rules are not expected to work rootless).
		if w := wanted(r); w != "" {
			return cgroups.CannotSet(w)
		}
		return nil
	}
	steps := []func(*specs.LinuxResources) error{
		m.setPids, m.setMemory, m.setCPU, m.setCpuset, m.setIO,
		m.setHugetlb, m.setRdma, m.setDevices, m.setUnified,
	}
	for _, step := range steps {
		if err := step(r); err != nil {
			return err
		}
	}
	return nil
}

// wanted names the first limit r asks for, other than device rules ("" if
// none): what a rootless container without a cgroup cannot have.
func wanted(r *specs.LinuxResources) string {
	limits := *r
	limits.Devices = nil
	if reflect.DeepEqual(limits, specs.LinuxResources{}) {
		return ""
	}
	switch {
	case r.Pids != nil:
		return "pids"
	case r.Memory != nil:
		return "memory"
	case r.CPU != nil:
		return "cpu"
	case r.BlockIO != nil:
		return "io"
	case len(r.HugepageLimits) > 0:
		return "hugetlb"
	case len(r.Rdma) > 0:
		return "rdma"
	case len(r.Unified) > 0:
		return "unified"
	}
	return "cgroup"
}

// write sets one cgroup file, naming the controller when its file is
// missing (the controller is not enabled for this cgroup, or the kernel
// lacks the feature).
func (m *Manager) write(name, val string) error {
	err := writeFile(filepath.Join(m.dir, name), val)
	if err == nil {
		return nil
	}
	if errors.Is(err, os.ErrNotExist) {
		ctrl, _, _ := strings.Cut(name, ".")
		return fmt.Errorf("set %s=%q: %w (is the %s controller available to %s?)", name, val, os.ErrNotExist, ctrl, m.dir)
	}
	return fmt.Errorf("set %s=%q: %w", name, val, unwrapPath(err))
}

// unwrapPath drops *PathError's "open /sys/fs/cgroup/...:" prefix; write
// already names the file.
func unwrapPath(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// limitStr renders a v1-style limit for a v2 file: -1 is "max".
func limitStr(v int64) string {
	if v < 0 {
		return "max"
	}
	return strconv.FormatInt(v, 10)
}

func (m *Manager) setPids(r *specs.LinuxResources) error {
	if r.Pids == nil || r.Pids.Limit == nil {
		return nil
	}
	v := *r.Pids.Limit
	if v == 0 {
		v = 1 // as runc: systemd has no TasksMax=0, so 0 means 1 everywhere
	}
	return m.write("pids.max", limitStr(v))
}

// SwapV2 converts the spec's memory+swap limit to cgroup v2's swap-only
// memory.swap.max value, as runc does. It returns "" when nothing is to
// be written.
func SwapV2(swap, mem int64) (string, error) {
	switch {
	case mem == -1 && swap == 0:
		// v1 compatibility: unlimited memory with no swap setting means
		// unlimited swap too.
		return "max", nil
	case swap == -1:
		return "max", nil
	case swap == 0:
		return "", nil
	case mem == -1:
		return strconv.FormatInt(swap, 10), nil // no memory limit to subtract
	case mem == 0:
		return "", errors.New("memory.swap needs memory.limit on cgroup v2 (it is memory+swap)")
	case mem < 0:
		return "", fmt.Errorf("invalid memory limit %d", mem)
	case swap < mem:
		return "", fmt.Errorf("memory+swap limit %d is below the memory limit %d", swap, mem)
	}
	return strconv.FormatInt(swap-mem, 10), nil
}

func (m *Manager) setMemory(r *specs.LinuxResources) error {
	mr := r.Memory
	if mr == nil {
		return nil
	}
	var limit, swap int64
	if mr.Limit != nil {
		limit = *mr.Limit
	}
	if mr.Swap != nil {
		swap = *mr.Swap
	}
	if err := m.CheckMemory(r); err != nil {
		return err
	}
	if (mr.Kernel != nil && *mr.Kernel != 0) || (mr.KernelTCP != nil && *mr.KernelTCP != 0) {
		slog.Warn("kernel memory settings (linux.resources.memory.kernel, kernelTCP) have no cgroup v2 counterpart and are ignored")
	}
	if mr.Swap != nil || limit == -1 {
		s, err := SwapV2(swap, limit)
		if err != nil {
			return err
		}
		if s != "" {
			if err := m.write("memory.swap.max", s); err != nil {
				// No swap accounting (CONFIG_MEMCG_SWAP off): asking for
				// no swap or unlimited swap is still satisfied.
				if !errors.Is(err, os.ErrNotExist) || (s != "max" && s != "0") {
					return err
				}
			}
		}
	}
	if mr.Limit != nil && limit != 0 {
		if err := m.write("memory.max", limitStr(limit)); err != nil {
			return err
		}
	}
	if mr.Reservation != nil && *mr.Reservation != 0 {
		if err := m.write("memory.low", limitStr(*mr.Reservation)); err != nil {
			return err
		}
	}
	// Kernel, KernelTCP, Swappiness, DisableOOMKiller and UseHierarchy have
	// no cgroup v2 counterpart and are ignored, as runc does; memory.high,
	// memory.min and memory.oom.group come through the unified map.
	return nil
}

// CPUWeight converts cgroup v1 cpu.shares [2, 262144] (default 1024) to
// cgroup v2 cpu.weight [1, 10000] (default 100) with the quadratic fit on
// log2(shares) that runc adopted in 1.3.2 (opencontainers/cgroups
// ConvertCPUSharesToCgroupV2Value): unlike the old linear map, it sends
// the default 1024 to the default 100. 0 means unset.
func CPUWeight(shares uint64) uint64 {
	switch {
	case shares == 0:
		return 0
	case shares <= 2:
		return 1
	case shares >= 262144:
		return 10000
	}
	l := math.Log2(float64(shares))
	exp := (l*l+125*l)/612.0 - 7.0/34.0
	return uint64(math.Ceil(math.Pow(10, exp)))
}

func (m *Manager) setCPU(r *specs.LinuxResources) error {
	c := r.CPU
	if c == nil {
		return nil
	}
	if (c.RealtimeRuntime != nil && *c.RealtimeRuntime != 0) || (c.RealtimePeriod != nil && *c.RealtimePeriod != 0) {
		return errors.New("cpu.realtimeRuntime/realtimePeriod are not supported on cgroup v2")
	}
	idle := c.Idle != nil && *c.Idle == 1
	if c.Idle != nil {
		if err := m.write("cpu.idle", strconv.FormatInt(*c.Idle, 10)); err != nil {
			return err
		}
	}
	// An idle cgroup has the minimum weight; the kernel rejects cpu.weight.
	if c.Shares != nil && *c.Shares != 0 && !idle {
		if err := m.write("cpu.weight", strconv.FormatUint(CPUWeight(*c.Shares), 10)); err != nil {
			return err
		}
	}
	hasMax := (c.Quota != nil && *c.Quota != 0) || (c.Period != nil && *c.Period != 0)
	// A burst above the current quota is rejected (EINVAL) until the new
	// quota is in: then write it again after cpu.max.
	burstLater := false
	if c.Burst != nil {
		if err := m.write("cpu.max.burst", strconv.FormatUint(*c.Burst, 10)); err != nil {
			if !errors.Is(err, unix.EINVAL) || !hasMax {
				return err
			}
			burstLater = true
		}
	}
	if hasMax {
		quota := "max"
		if c.Quota != nil && *c.Quota > 0 {
			quota = strconv.FormatInt(*c.Quota, 10)
		} else if c.Quota == nil {
			// Only the period changes: keep the current quota.
			if cur, err := readFile(filepath.Join(m.dir, "cpu.max")); err == nil {
				quota, _, _ = strings.Cut(cur, " ")
			}
		}
		v := quota
		if c.Period != nil && *c.Period != 0 {
			v += " " + strconv.FormatUint(*c.Period, 10)
		}
		if err := m.write("cpu.max", v); err != nil {
			return err
		}
	}
	if burstLater {
		return m.write("cpu.max.burst", strconv.FormatUint(*c.Burst, 10))
	}
	return nil
}

func (m *Manager) setCpuset(r *specs.LinuxResources) error {
	if r.CPU == nil {
		return nil
	}
	if r.CPU.Cpus != "" {
		if err := m.write("cpuset.cpus", r.CPU.Cpus); err != nil {
			return err
		}
	}
	if r.CPU.Mems != "" {
		return m.write("cpuset.mems", r.CPU.Mems)
	}
	return nil
}

// IOWeight converts the v1 blkio weight [10, 1000] linearly to io.weight
// [1, 10000], as runc does. 0 means unset.
func IOWeight(w uint16) uint64 {
	if w == 0 {
		return 0
	}
	return 1 + (uint64(w)-10)*9999/990
}

func (m *Manager) setIO(r *specs.LinuxResources) error {
	b := r.BlockIO
	if b == nil {
		return nil
	}
	// With the BFQ scheduler available, its io.bfq.weight takes the v1
	// range [1, 1000] as is, and per-device weights; else io.weight.
	_, err := os.Stat(filepath.Join(m.dir, "io.bfq.weight"))
	bfq := err == nil
	if b.Weight != nil && *b.Weight != 0 {
		if bfq {
			err = m.write("io.bfq.weight", strconv.FormatUint(uint64(*b.Weight), 10))
		} else {
			err = m.write("io.weight", strconv.FormatUint(IOWeight(*b.Weight), 10))
		}
		if err != nil {
			return err
		}
	}
	for _, wd := range b.WeightDevice {
		if wd.Weight == nil {
			continue
		}
		if !bfq {
			return fmt.Errorf("blockIO.weightDevice %d:%d needs the BFQ I/O scheduler (no io.bfq.weight)", wd.Major, wd.Minor)
		}
		if err := m.write("io.bfq.weight", fmt.Sprintf("%d:%d %d", wd.Major, wd.Minor, *wd.Weight)); err != nil {
			return err
		}
	}
	for _, t := range []struct {
		key  string
		devs []specs.LinuxThrottleDevice
	}{
		{"rbps", b.ThrottleReadBpsDevice}, {"wbps", b.ThrottleWriteBpsDevice},
		{"riops", b.ThrottleReadIOPSDevice}, {"wiops", b.ThrottleWriteIOPSDevice},
	} {
		for _, d := range t.devs {
			rate := strconv.FormatUint(d.Rate, 10)
			if d.Rate == 0 {
				rate = "max" // v1's 0 removed the limit
			}
			if err := m.write("io.max", fmt.Sprintf("%d:%d %s=%s", d.Major, d.Minor, t.key, rate)); err != nil {
				return err
			}
		}
	}
	return nil
}

func (m *Manager) setHugetlb(r *specs.LinuxResources) error {
	for _, h := range r.HugepageLimits {
		v := strconv.FormatUint(h.Limit, 10)
		if err := m.write("hugetlb."+h.Pagesize+".max", v); err != nil {
			return err
		}
		// The spec prefers reservation limits where the kernel has them
		// (5.7+): a fault limit alone lets a reserved mapping be killed at
		// fault time instead of failing its mmap.
		if err := m.write("hugetlb."+h.Pagesize+".rsvd.max", v); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
	}
	return nil
}

func (m *Manager) setRdma(r *specs.LinuxResources) error {
	for dev, l := range r.Rdma {
		var parts []string
		if l.HcaHandles != nil {
			parts = append(parts, "hca_handle="+strconv.FormatUint(uint64(*l.HcaHandles), 10))
		}
		if l.HcaObjects != nil {
			parts = append(parts, "hca_object="+strconv.FormatUint(uint64(*l.HcaObjects), 10))
		}
		if len(parts) == 0 {
			continue
		}
		if err := m.write("rdma.max", dev+" "+strings.Join(parts, " ")); err != nil {
			return err
		}
	}
	return nil
}

func (m *Manager) setDevices(r *specs.LinuxResources) error {
	// Loading BPF needs privilege a rootless runtime lacks; runc skips
	// device rules there too (the user namespace limits mknod anyway).
	if len(r.Devices) == 0 || m.rootless {
		return nil
	}
	if err := setDevices(m.dir, r.Devices); err != nil {
		return fmt.Errorf("devices: %w", err)
	}
	return nil
}

// ValidateUnified checks that each linux.resources.unified key names a
// file in the cgroup's own directory.
func ValidateUnified(unified map[string]string) error {
	for k := range unified {
		if k == "" || k == "." || k == ".." || strings.ContainsAny(k, "/\x00") {
			return fmt.Errorf("unified key %q: must be a cgroup file name, without path separators", k)
		}
		switch k {
		case "cgroup.procs", "cgroup.threads":
			return fmt.Errorf("unified key %q: moving processes is not a resource limit", k)
		}
	}
	return nil
}

// CheckMemory refuses, with memory.checkBeforeUpdate, a memory or
// memory+swap limit not above the current usage: v2 would take it and
// reclaim, then OOM-kill, to meet it (best effort: no usage to read, no
// check). The words are runc's. The systemd driver asks it before it
// sets the unit's properties.
func (m *Manager) CheckMemory(r *specs.LinuxResources) error {
	mr := r.Memory
	if mr == nil || mr.CheckBeforeUpdate == nil || !*mr.CheckBeforeUpdate {
		return nil
	}
	cur, err := readUint(filepath.Join(m.dir, "memory.current"))
	if err != nil {
		return nil
	}
	if mr.Swap != nil && *mr.Swap > 0 && uint64(*mr.Swap) <= cur {
		return fmt.Errorf("rejecting memory+swap limit %d: not above the current usage %d", *mr.Swap, cur)
	}
	if mr.Limit != nil && *mr.Limit > 0 && uint64(*mr.Limit) <= cur {
		return fmt.Errorf("rejecting memory limit %d: not above the current usage %d", *mr.Limit, cur)
	}
	return nil
}

func (m *Manager) setUnified(r *specs.LinuxResources) error {
	if err := ValidateUnified(r.Unified); err != nil {
		return err
	}
	for k, v := range r.Unified {
		if err := m.write(k, v); err != nil {
			return fmt.Errorf("unified: %w", err)
		}
	}
	return nil
}

func readUint(file string) (uint64, error) {
	s, err := readFile(file)
	if err != nil {
		return 0, err
	}
	if s == "max" {
		return math.MaxUint64, nil
	}
	return strconv.ParseUint(s, 10, 64)
}
