package validate

import (
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// The runtime-spec 1.3 process and linux settings teu applies, by spec
// name, with the kernel's values. The init applies them from these same
// tables, and `features` lists them.

// MemoryPolicyModes are set_mempolicy(2) modes.
var MemoryPolicyModes = map[specs.MemoryPolicyModeType]int{
	specs.MpolDefault: 0, specs.MpolPreferred: 1, specs.MpolBind: 2, specs.MpolInterleave: 3,
	specs.MpolLocal: 4, specs.MpolPreferredMany: 5, specs.MpolWeightedInterleave: 6,
}

// MemoryPolicyFlags are set_mempolicy(2) mode flags.
var MemoryPolicyFlags = map[specs.MemoryPolicyFlagType]int{
	specs.MpolFNumaBalancing: 1 << 13, specs.MpolFRelativeNodes: 1 << 14, specs.MpolFStaticNodes: 1 << 15,
}

// SchedPolicies are sched_setattr(2) policies. SCHED_ISO is in the spec
// but not in Linux, so it is not here.
var SchedPolicies = map[specs.LinuxSchedulerPolicy]uint32{
	specs.SchedOther: 0, specs.SchedFIFO: 1, specs.SchedRR: 2, specs.SchedBatch: 3,
	specs.SchedIdle: 5, specs.SchedDeadline: 6,
}

// SchedFlags are sched_setattr(2) flags.
var SchedFlags = map[specs.LinuxSchedulerFlag]uint64{
	specs.SchedFlagResetOnFork: 0x01, specs.SchedFlagReclaim: 0x02, specs.SchedFlagDLOverrun: 0x04,
	specs.SchedFlagKeepPolicy: 0x08, specs.SchedFlagKeepParams: 0x10,
	specs.SchedFlagUtilClampMin: 0x20, specs.SchedFlagUtilClampMax: 0x40,
}

// IOPrioClasses are ioprio_set(2) classes.
var IOPrioClasses = map[specs.IOPriorityClass]int{
	specs.IOPRIO_CLASS_RT: 1, specs.IOPRIO_CLASS_BE: 2, specs.IOPRIO_CLASS_IDLE: 3,
}

// Personalities are personality(2) execution domains. No flag is defined.
var Personalities = map[specs.LinuxPersonalityDomain]uint{
	specs.PerLinux: 0x0000, specs.PerLinux32: 0x0008,
}

// SortedKeys lists a table's names, sorted (for `features`).
func SortedKeys[K ~string, V any](m map[K]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, string(k))
	}
	sort.Strings(out)
	return out
}

// ParseList parses a runtime-spec CPU or memory node list such as
// "0-3,7" into its sorted members, at most max.
func ParseList(s string, max int) ([]int, error) {
	var out []int
	seen := map[int]bool{}
	for _, part := range strings.Split(s, ",") {
		lo, hi, isRange := strings.Cut(strings.TrimSpace(part), "-")
		a, err := strconv.Atoi(lo)
		b := a
		if err == nil && isRange {
			b, err = strconv.Atoi(hi)
		}
		if err != nil || a < 0 || b < a {
			return nil, fmt.Errorf("invalid list %q", s)
		}
		if b >= max {
			return nil, fmt.Errorf("list %q: %d is out of range (at most %d)", s, b, max-1)
		}
		for i := a; i <= b; i++ {
			if !seen[i] {
				seen[i] = true
				out = append(out, i)
			}
		}
	}
	sort.Ints(out)
	return out, nil
}

// MaxCPUs and MaxNodes bound CPU and node lists (the kernel's limits).
const (
	MaxCPUs  = 8192
	MaxNodes = 1024
)

// process13 checks scheduler, ioPriority and execCPUAffinity.
func process13(p *specs.Process) error {
	if sc := p.Scheduler; sc != nil {
		if err := scheduler(sc); err != nil {
			return fmt.Errorf("process.scheduler: %w", err)
		}
	}
	if io := p.IOPriority; io != nil {
		if _, ok := IOPrioClasses[io.Class]; !ok {
			return fmt.Errorf("process.ioPriority: unknown class %q", io.Class)
		}
		if io.Priority < 0 || io.Priority > 7 {
			return fmt.Errorf("process.ioPriority: priority %d is not in 0..7", io.Priority)
		}
	}
	if a := p.ExecCPUAffinity; a != nil {
		for what, l := range map[string]string{"initial": a.Initial, "final": a.Final} {
			if l == "" {
				continue
			}
			if _, err := ParseList(l, MaxCPUs); err != nil {
				return fmt.Errorf("process.execCPUAffinity.%s: %w", what, err)
			}
		}
	}
	return nil
}

func scheduler(sc *specs.Scheduler) error {
	pol, ok := SchedPolicies[sc.Policy]
	if !ok {
		if sc.Policy == specs.SchedISO {
			return errors.New("policy SCHED_ISO is not implemented by Linux")
		}
		return fmt.Errorf("unknown policy %q", sc.Policy)
	}
	for _, f := range sc.Flags {
		if _, ok := SchedFlags[f]; !ok {
			return fmt.Errorf("unknown flag %q", f)
		}
	}
	if sc.Nice < -20 || sc.Nice > 19 {
		return fmt.Errorf("nice %d is not in -20..19", sc.Nice)
	}
	rt := sc.Policy == specs.SchedFIFO || sc.Policy == specs.SchedRR
	switch {
	case rt && (sc.Priority < 1 || sc.Priority > 99):
		return fmt.Errorf("%s needs a priority in 1..99, not %d", sc.Policy, sc.Priority)
	case !rt && sc.Priority != 0:
		return fmt.Errorf("priority %d is only for SCHED_FIFO and SCHED_RR", sc.Priority)
	}
	if pol == SchedPolicies[specs.SchedDeadline] {
		if sc.Runtime == 0 || sc.Deadline < sc.Runtime || (sc.Period != 0 && sc.Period < sc.Deadline) {
			return fmt.Errorf("SCHED_DEADLINE needs 0 < runtime <= deadline <= period (period 0: the deadline), not %d/%d/%d",
				sc.Runtime, sc.Deadline, sc.Period)
		}
	} else if sc.Runtime != 0 || sc.Deadline != 0 || sc.Period != 0 {
		return errors.New("runtime, deadline and period are only for SCHED_DEADLINE")
	}
	return nil
}

// linux13 checks memoryPolicy, personality and netDevices.
func linux13(l *specs.Linux, have map[specs.LinuxNamespaceType]bool) error {
	if mp := l.MemoryPolicy; mp != nil {
		if err := memoryPolicy(mp); err != nil {
			return fmt.Errorf("linux.memoryPolicy: %w", err)
		}
	}
	if pe := l.Personality; pe != nil {
		if _, ok := Personalities[pe.Domain]; !ok {
			return fmt.Errorf("linux.personality: unknown domain %q", pe.Domain)
		}
		if len(pe.Flags) > 0 {
			return fmt.Errorf("linux.personality: unknown flag %q (none is defined)", pe.Flags[0])
		}
	}
	if len(l.NetDevices) > 0 {
		if !have[specs.NetworkNamespace] {
			return errors.New("linux.netDevices needs a network namespace: devices cannot move into the host's")
		}
		names := map[string]string{}
		for host, d := range l.NetDevices {
			if err := ifName(host, false); err != nil {
				return fmt.Errorf("linux.netDevices: %w", err)
			}
			name := d.Name
			if name == "" {
				name = host
			}
			if err := ifName(name, true); err != nil {
				return fmt.Errorf("linux.netDevices[%s].name: %w", host, err)
			}
			if other, dup := names[name]; dup && !strings.Contains(name, "%d") {
				return fmt.Errorf("linux.netDevices: %s and %s both become %s", other, host, name)
			}
			names[name] = host
		}
	}
	return nil
}

// memoryPolicy checks linux.memoryPolicy; errors start with runc's words
// ("invalid memory policy ...").
func memoryPolicy(mp *specs.LinuxMemoryPolicy) error {
	if _, ok := MemoryPolicyModes[mp.Mode]; !ok {
		return fmt.Errorf("invalid memory policy mode %q", mp.Mode)
	}
	flags := map[specs.MemoryPolicyFlagType]bool{}
	for _, f := range mp.Flags {
		if _, ok := MemoryPolicyFlags[f]; !ok {
			return fmt.Errorf("invalid memory policy flag %q", f)
		}
		flags[f] = true
	}
	if flags[specs.MpolFStaticNodes] && flags[specs.MpolFRelativeNodes] {
		return errors.New("invalid memory policy flags: MPOL_F_STATIC_NODES and MPOL_F_RELATIVE_NODES exclude each other")
	}
	var nodes []int
	if mp.Nodes != "" {
		var err error
		if nodes, err = ParseList(mp.Nodes, MaxNodes); err != nil {
			return fmt.Errorf("invalid memory policy nodes %q: %w", mp.Nodes, err)
		}
	}
	switch mp.Mode {
	case specs.MpolDefault, specs.MpolLocal:
		if len(nodes) > 0 {
			return fmt.Errorf("invalid memory policy: %s mode requires 0 nodes but got %d", mp.Mode, len(nodes))
		}
		if len(mp.Flags) > 0 {
			return fmt.Errorf("invalid memory policy: %s takes no flags", mp.Mode)
		}
	case specs.MpolBind, specs.MpolInterleave, specs.MpolWeightedInterleave, specs.MpolPreferredMany:
		if len(nodes) == 0 {
			return fmt.Errorf("invalid memory policy: %s needs nodes", mp.Mode)
		}
	}
	if flags[specs.MpolFNumaBalancing] && mp.Mode != specs.MpolBind && mp.Mode != specs.MpolPreferredMany {
		return fmt.Errorf("invalid memory policy: MPOL_F_NUMA_BALANCING is only for MPOL_BIND and MPOL_PREFERRED_MANY")
	}
	return nil
}

// ifName checks a network interface name; a container-side name may be a
// template with %d, which the kernel fills in.
func ifName(n string, template bool) error {
	if n == "" || len(n) > 15 {
		return fmt.Errorf("interface name %q must have 1 to 15 bytes", n)
	}
	if n == "." || n == ".." || strings.ContainsAny(n, "/: \t\n\x00") {
		return fmt.Errorf("invalid interface name %q", n)
	}
	if strings.Contains(n, "%") && (!template || strings.Count(n, "%") != 1 || !strings.Contains(n, "%d")) {
		return fmt.Errorf("invalid interface name %q", n)
	}
	return nil
}
