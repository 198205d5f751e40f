package fs1

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/teu-runtime/teu/libcontainer/cgroups"
)

const (
	memLimit = "memory.limit_in_bytes"
	memswLim = "memory.memsw.limit_in_bytes"
)

func memoryWanted(r *specs.LinuxResources) bool {
	m := r.Memory
	return m != nil && (nonZero(m.Limit) || nonZero(m.Reservation) || nonZero(m.Swap) ||
		(m.Swappiness != nil && int64(*m.Swappiness) != -1) || (m.DisableOOMKiller != nil && *m.DisableOOMKiller))
}

func nonZero(p *int64) bool { return p != nil && *p != 0 }

func val(p *int64) int64 {
	if p == nil {
		return 0
	}
	return *p
}

// setMemory writes the memory controller's limits. A spec's swap is, as in
// v1's memsw, memory+swap. 0 (or absent) leaves a value alone; -1 is
// unlimited.
func setMemory(dir string, r *specs.LinuxResources) error {
	m := r.Memory
	if m == nil {
		return nil
	}
	if nonZero(m.Kernel) {
		slog.Warn("kernel memory limit (linux.resources.memory.kernel) is obsolete and ignored")
	}
	// Unlike memory.kmem.limit_in_bytes (a no-op on current kernels), v1
	// still enforces the TCP buffer limit.
	if nonZero(m.KernelTCP) {
		if err := writeIfExists(dir, "memory.kmem.tcp.limit_in_bytes", strconv.FormatInt(*m.KernelTCP, 10), true); err != nil {
			return err
		}
	}
	limit, swap := val(m.Limit), val(m.Swap)
	if m.CheckBeforeUpdate != nil && *m.CheckBeforeUpdate && limit > 0 {
		if usage, err := cgroups.ReadUint(dir, "memory.usage_in_bytes"); err == nil && uint64(limit) < usage {
			return fmt.Errorf("memory limit %d is below the current usage %d", limit, usage)
		}
	}
	if err := setMemoryAndSwap(dir, limit, swap); err != nil {
		return err
	}
	if nonZero(m.Reservation) {
		if err := writeFile(dir, "memory.soft_limit_in_bytes", strconv.FormatInt(*m.Reservation, 10)); err != nil {
			return err
		}
	}
	if m.DisableOOMKiller != nil && *m.DisableOOMKiller {
		if err := writeFile(dir, "memory.oom_control", "1"); err != nil {
			return err
		}
	}
	if m.Swappiness != nil && int64(*m.Swappiness) != -1 {
		if *m.Swappiness > 100 {
			return fmt.Errorf("invalid memory swappiness %d: the range is 0-100", *m.Swappiness)
		}
		if err := writeFile(dir, "memory.swappiness", strconv.FormatUint(*m.Swappiness, 10)); err != nil {
			return err
		}
	}
	return nil
}

// setMemoryAndSwap writes the two limits in the order the kernel accepts:
// memsw may never be below memory, so when raising, swap goes first.
func setMemoryAndSwap(dir string, limit, swap int64) error {
	hasSwap := exists(dir, memswLim)
	// Unlimited memory with swap unspecified means unlimited swap too.
	if limit == -1 && swap == 0 && hasSwap {
		swap = -1
	}
	if swap != 0 && !hasSwap {
		return fmt.Errorf("cannot set a swap limit: %s is missing (the kernel lacks swap accounting)", memswLim)
	}
	if limit != 0 && swap != 0 {
		cur, err := cgroups.ReadUint(dir, memLimit)
		if err != nil {
			return fmt.Errorf("read %s: %w", memLimit, err)
		}
		if swap == -1 || cur < uint64(swap) {
			if err := writeMemsw(dir, swap); err != nil {
				return err
			}
			return writeMemLimit(dir, limit)
		}
		if err := writeMemLimit(dir, limit); err != nil {
			return err
		}
		return writeMemsw(dir, swap)
	}
	if limit != 0 {
		if err := writeMemLimit(dir, limit); err != nil {
			return err
		}
	}
	if swap != 0 {
		return writeMemsw(dir, swap)
	}
	return nil
}

func writeMemLimit(dir string, limit int64) error {
	err := writeFile(dir, memLimit, strconv.FormatInt(limit, 10))
	if err != nil && errors.Is(err, unix.EBUSY) {
		usage, _ := cgroups.ReadUint(dir, "memory.usage_in_bytes")
		peak, _ := cgroups.ReadUint(dir, "memory.max_usage_in_bytes")
		return fmt.Errorf("unable to set memory limit to %d (current usage: %d, peak usage: %d): %w", limit, usage, peak, err)
	}
	return err
}

func writeMemsw(dir string, swap int64) error {
	err := writeFile(dir, memswLim, strconv.FormatInt(swap, 10))
	if err != nil && errors.Is(err, unix.EINVAL) {
		return fmt.Errorf("memory+swap limit %d is below the memory limit: %w", swap, err)
	}
	return err
}

func exists(dir, file string) bool {
	_, err := os.Stat(filepath.Join(dir, file))
	return err == nil
}

func memoryEntry(dir, prefix string) (cgroups.MemoryEntry, error) {
	var e cgroups.MemoryEntry
	if !exists(dir, prefix+".usage_in_bytes") {
		return e, nil
	}
	var err error
	for _, f := range []struct {
		name string
		dst  *uint64
	}{{"usage_in_bytes", &e.Usage}, {"max_usage_in_bytes", &e.Max}, {"failcnt", &e.Failcnt}, {"limit_in_bytes", &e.Limit}} {
		if *f.dst, err = cgroups.ReadUint(dir, prefix+"."+f.name); err != nil {
			return e, err
		}
	}
	return e, nil
}

func memoryStats(dir string, s *cgroups.Stats) error {
	raw, err := cgroups.ReadKeyValues(dir, "memory.stat")
	if err != nil {
		return err
	}
	s.Memory.Raw = raw
	s.Memory.Cache = raw["cache"]
	if s.Memory.Usage, err = memoryEntry(dir, "memory"); err != nil {
		return err
	}
	if s.Memory.Swap, err = memoryEntry(dir, "memory.memsw"); err != nil {
		return err
	}
	if s.Memory.Kernel, err = memoryEntry(dir, "memory.kmem"); err != nil {
		return err
	}
	if s.Memory.KernelTCP, err = memoryEntry(dir, "memory.kmem.tcp"); err != nil {
		return err
	}
	return nil
}
