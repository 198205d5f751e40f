package fs1

import (
	"errors"
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/teu-runtime/teu/libcontainer/cgroups"
)

// --- cpuset ---

func cpusetWanted(r *specs.LinuxResources) bool {
	return r.CPU != nil && (r.CPU.Cpus != "" || r.CPU.Mems != "")
}

func setCpuset(dir string, r *specs.LinuxResources) error {
	if r.CPU == nil {
		return nil
	}
	if r.CPU.Cpus != "" {
		if err := writeFile(dir, "cpuset.cpus", r.CPU.Cpus); err != nil {
			return err
		}
	}
	if r.CPU.Mems != "" {
		if err := writeFile(dir, "cpuset.mems", r.CPU.Mems); err != nil {
			return err
		}
	}
	return nil
}

// parseList parses a kernel cpu/node list ("0-3,5").
func parseList(s string) ([]uint16, error) {
	var out []uint16
	for _, part := range strings.Split(strings.TrimSpace(s), ",") {
		if part == "" {
			continue
		}
		lo, hi, isRange := strings.Cut(part, "-")
		a, err := strconv.ParseUint(lo, 10, 16)
		if err != nil {
			return nil, fmt.Errorf("bad list %q", s)
		}
		b := a
		if isRange {
			if b, err = strconv.ParseUint(hi, 10, 16); err != nil || b < a {
				return nil, fmt.Errorf("bad list %q", s)
			}
		}
		for i := a; i <= b; i++ {
			out = append(out, uint16(i))
		}
	}
	return out, nil
}

func cpusetStats(dir string, s *cgroups.Stats) error {
	read := func(f string) string { v, _ := cgroups.ReadFile(dir, f); return v }
	var err error
	if s.CPUSet.CPUs, err = parseList(read("cpuset.cpus")); err != nil {
		return err
	}
	if s.CPUSet.Mems, err = parseList(read("cpuset.mems")); err != nil {
		return err
	}
	for _, f := range []struct {
		name string
		dst  *uint64
	}{
		{"cpu_exclusive", &s.CPUSet.CPUExclusive}, {"mem_hardwall", &s.CPUSet.MemHardwall},
		{"mem_exclusive", &s.CPUSet.MemExclusive}, {"memory_migrate", &s.CPUSet.MemoryMigrate},
		{"memory_spread_page", &s.CPUSet.MemorySpreadPage}, {"memory_spread_slab", &s.CPUSet.MemorySpreadSlab},
		{"memory_pressure", &s.CPUSet.MemoryPressure}, {"sched_load_balance", &s.CPUSet.SchedLoadBalance},
	} {
		*f.dst, _ = cgroups.ReadUint(dir, "cpuset."+f.name)
	}
	if v, err := strconv.ParseInt(strings.TrimSpace(read("cpuset.sched_relax_domain_level")), 10, 64); err == nil {
		s.CPUSet.SchedRelaxDomainLevel = v
	}
	return nil
}

// --- devices ---

// deviceRule renders a spec rule in devices.allow/deny syntax
// ("c 1:3 rwm"; "a" for all devices).
func deviceRule(d *specs.LinuxDeviceCgroup) (string, error) {
	typ := d.Type
	switch typ {
	case "", "a":
		return "a", nil
	case "b", "c":
	default:
		return "", fmt.Errorf("invalid device cgroup rule type %q", typ)
	}
	num := func(p *int64) string {
		if p == nil || *p < 0 {
			return "*"
		}
		return strconv.FormatInt(*p, 10)
	}
	access := d.Access
	if access == "" {
		access = "rwm"
	}
	if strings.Trim(access, "rwm") != "" {
		return "", fmt.Errorf("invalid device cgroup access %q", access)
	}
	return fmt.Sprintf("%s %s:%s %s", typ, num(d.Major), num(d.Minor), access), nil
}

// setDevices denies everything, then applies the rules in order. Devices
// is nil on update (runc's update leaves devices alone), so a running
// container never loses its devices in between.
func setDevices(dir string, r *specs.LinuxResources) error {
	if r.Devices == nil {
		return nil
	}
	// Deny all, then the rules in order; a run of rules for one file goes
	// through one open of it.
	type rule struct{ file, value string }
	rules := make([]rule, 1, len(r.Devices)+1)
	rules[0] = rule{"devices.deny", "a"}
	for i := range r.Devices {
		s, err := deviceRule(&r.Devices[i])
		if err != nil {
			return fmt.Errorf("linux.resources.devices[%d]: %w", i, err)
		}
		file := "devices.deny"
		if r.Devices[i].Allow {
			file = "devices.allow"
		}
		rules = append(rules, rule{file, s})
	}
	for len(rules) > 0 {
		n := 1
		for n < len(rules) && rules[n].file == rules[0].file {
			n++
		}
		values := make([]string, n)
		for i := range values {
			values[i] = rules[i].value
		}
		if err := writeEach(dir, rules[0].file, values...); err != nil {
			return err
		}
		rules = rules[n:]
	}
	return nil
}

// --- pids ---

func setPids(dir string, r *specs.LinuxResources) error {
	if r.Pids == nil || r.Pids.Limit == nil {
		return nil
	}
	// As runc: 0 is 1 (systemd has no TasksMax=0), below 0 no limit.
	v := "max"
	switch l := *r.Pids.Limit; {
	case l == 0:
		v = "1"
	case l > 0:
		v = strconv.FormatInt(l, 10)
	}
	return writeFile(dir, "pids.max", v)
}

func pidsStats(dir string, s *cgroups.Stats) error {
	cur, err := cgroups.ReadUint(dir, "pids.current")
	if err != nil {
		return err
	}
	max, err := cgroups.ReadUint(dir, "pids.max")
	if err != nil {
		return err
	}
	if max == ^uint64(0) {
		max = 0
	}
	s.Pids = cgroups.Pids{Current: cur, Limit: max}
	return nil
}

// --- blkio ---

func blkioWanted(r *specs.LinuxResources) bool {
	b := r.BlockIO
	return b != nil && ((b.Weight != nil && *b.Weight != 0) || (b.LeafWeight != nil && *b.LeafWeight != 0) ||
		len(b.WeightDevice) > 0 || len(b.ThrottleReadBpsDevice) > 0 || len(b.ThrottleWriteBpsDevice) > 0 ||
		len(b.ThrottleReadIOPSDevice) > 0 || len(b.ThrottleWriteIOPSDevice) > 0)
}

// weightFiles are the CFQ files, or BFQ's where CFQ's are gone.
func weightFiles(dir string) (weight, weightDevice string) {
	if exists(dir, "blkio.weight") {
		return "blkio.weight", "blkio.weight_device"
	}
	return "blkio.bfq.weight", "blkio.bfq.weight_device"
}

func setBlkio(dir string, r *specs.LinuxResources) error {
	b := r.BlockIO
	if b == nil {
		return nil
	}
	wf, wdf := weightFiles(dir)
	if b.Weight != nil && *b.Weight != 0 {
		if err := writeFile(dir, wf, strconv.Itoa(int(*b.Weight))); err != nil {
			return err
		}
	}
	if b.LeafWeight != nil && *b.LeafWeight != 0 {
		if err := writeFile(dir, "blkio.leaf_weight", strconv.Itoa(int(*b.LeafWeight))); err != nil {
			return err
		}
	}
	for _, wd := range b.WeightDevice {
		if wd.Weight != nil {
			if err := writeFile(dir, wdf, fmt.Sprintf("%d:%d %d", wd.Major, wd.Minor, *wd.Weight)); err != nil {
				return err
			}
		}
		if wd.LeafWeight != nil {
			if err := writeFile(dir, "blkio.leaf_weight_device", fmt.Sprintf("%d:%d %d", wd.Major, wd.Minor, *wd.LeafWeight)); err != nil {
				return err
			}
		}
	}
	for _, t := range []struct {
		file string
		devs []specs.LinuxThrottleDevice
	}{
		{"blkio.throttle.read_bps_device", b.ThrottleReadBpsDevice},
		{"blkio.throttle.write_bps_device", b.ThrottleWriteBpsDevice},
		{"blkio.throttle.read_iops_device", b.ThrottleReadIOPSDevice},
		{"blkio.throttle.write_iops_device", b.ThrottleWriteIOPSDevice},
	} {
		for _, d := range t.devs {
			if err := writeFile(dir, t.file, fmt.Sprintf("%d:%d %d", d.Major, d.Minor, d.Rate)); err != nil {
				return err
			}
		}
	}
	return nil
}

// readBlkioEntries parses "8:0 Read 4096" lines (and "8:0 4096" ones).
func readBlkioEntries(dir, file string) ([]cgroups.BlkioEntry, error) {
	data, err := cgroups.ReadFile(dir, file)
	if err != nil {
		return nil, err
	}
	var out []cgroups.BlkioEntry
	for _, line := range strings.Split(data, "\n") {
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		maj, min, ok := strings.Cut(f[0], ":")
		if !ok {
			continue // "Total 1234"
		}
		var e cgroups.BlkioEntry
		e.Major, _ = strconv.ParseUint(maj, 10, 64)
		e.Minor, _ = strconv.ParseUint(min, 10, 64)
		v := f[1]
		if len(f) == 3 {
			e.Op, v = f[1], f[2]
		}
		e.Value, _ = strconv.ParseUint(v, 10, 64)
		out = append(out, e)
	}
	return out, nil
}

// blkioStats reads CFQ's recursive files, else BFQ's, else the throttle
// policy's (which every kernel has), as runc does.
func blkioStats(dir string, s *cgroups.Stats) error {
	var prefix string
	switch {
	case exists(dir, "blkio.io_service_bytes_recursive"):
		prefix = "blkio."
	case exists(dir, "blkio.bfq.io_service_bytes_recursive"):
		prefix = "blkio.bfq."
	default:
		var err error
		if s.Blkio.IoServiceBytesRecursive, err = readBlkioEntries(dir, "blkio.throttle.io_service_bytes_recursive"); err != nil {
			return nil
		}
		s.Blkio.IoServicedRecursive, _ = readBlkioEntries(dir, "blkio.throttle.io_serviced_recursive")
		return nil
	}
	for _, f := range []struct {
		name string
		dst  *[]cgroups.BlkioEntry
	}{
		{"io_service_bytes_recursive", &s.Blkio.IoServiceBytesRecursive},
		{"io_serviced_recursive", &s.Blkio.IoServicedRecursive},
		{"io_queued_recursive", &s.Blkio.IoQueuedRecursive},
		{"io_service_time_recursive", &s.Blkio.IoServiceTimeRecursive},
		{"io_wait_time_recursive", &s.Blkio.IoWaitTimeRecursive},
		{"io_merged_recursive", &s.Blkio.IoMergedRecursive},
		{"time_recursive", &s.Blkio.IoTimeRecursive},
		{"sectors_recursive", &s.Blkio.SectorsRecursive},
	} {
		*f.dst, _ = readBlkioEntries(dir, prefix+f.name)
	}
	return nil
}

// --- hugetlb ---

// setHugetlb sets the usage limit and, where the kernel has it, the
// reservation limit (.rsvd) to the same value, as runc does.
func setHugetlb(dir string, r *specs.LinuxResources) error {
	for _, h := range r.HugepageLimits {
		v := strconv.FormatUint(h.Limit, 10)
		if err := writeFile(dir, "hugetlb."+h.Pagesize+".limit_in_bytes", v); err != nil {
			if errors.Is(err, os.ErrNotExist) {
				return fmt.Errorf("hugetlb: page size %s is not supported by this host: %w", h.Pagesize, err)
			}
			return err
		}
		if f := "hugetlb." + h.Pagesize + ".rsvd.limit_in_bytes"; exists(dir, f) {
			if err := writeFile(dir, f, v); err != nil {
				return err
			}
		}
	}
	return nil
}

func hugetlbStats(dir string, s *cgroups.Stats) error {
	s.Hugetlb = map[string]cgroups.Hugetlb{}
	for _, ps := range cgroups.HugePageSizes() {
		var h cgroups.Hugetlb
		var err error
		p := "hugetlb." + ps + "."
		if h.Usage, err = cgroups.ReadUint(dir, p+"usage_in_bytes"); err != nil {
			continue
		}
		h.Max, _ = cgroups.ReadUint(dir, p+"max_usage_in_bytes")
		h.Failcnt, _ = cgroups.ReadUint(dir, p+"failcnt")
		s.Hugetlb[ps] = h
	}
	return nil
}

// --- net_cls, net_prio, rdma ---

func setNetCls(dir string, r *specs.LinuxResources) error {
	if r.Network == nil || r.Network.ClassID == nil {
		return nil
	}
	return writeFile(dir, "net_cls.classid", strconv.FormatUint(uint64(*r.Network.ClassID), 10))
}

func setNetPrio(dir string, r *specs.LinuxResources) error {
	if r.Network == nil {
		return nil
	}
	for _, p := range r.Network.Priorities {
		if err := writeFile(dir, "net_prio.ifpriomap", fmt.Sprintf("%s %d", p.Name, p.Priority)); err != nil {
			return err
		}
	}
	return nil
}

func setRdma(dir string, r *specs.LinuxResources) error {
	devs := make([]string, 0, len(r.Rdma))
	for d := range r.Rdma {
		devs = append(devs, d)
	}
	sort.Strings(devs)
	for _, d := range devs {
		l := r.Rdma[d]
		lim := func(p *uint32) string {
			if p == nil {
				return "max"
			}
			return strconv.FormatUint(uint64(*p), 10)
		}
		line := fmt.Sprintf("%s hca_handle=%s hca_object=%s", d, lim(l.HcaHandles), lim(l.HcaObjects))
		if err := writeFile(dir, "rdma.max", line); err != nil {
			return err
		}
	}
	return nil
}
