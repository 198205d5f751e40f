package systemd

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"

	sd "github.com/coreos/go-systemd/v22/dbus"
	"github.com/godbus/dbus/v5"
	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/teu-runtime/teu/libcontainer/cgroups/fs2"
)

// AnnotationPrefix marks an annotation that sets a unit property:
// org.systemd.property.TimeoutStopUSec="uint64 123456".
const AnnotationPrefix = "org.systemd.property."

// infinity is systemd's "no limit" for uint64 properties.
const infinity = uint64(math.MaxUint64)

func prop(name string, v any) sd.Property {
	return sd.Property{Name: name, Value: dbus.MakeVariant(v)}
}

// baseProperties are the scope's own settings: where it goes, the process
// that starts it, delegation (teu and the container manage the cgroup
// below the scope) and accounting (so systemd enables the controllers).
func baseProperties(id, slice string, pid int, unified bool) []sd.Property {
	ps := []sd.Property{
		sd.PropDescription("teu container " + id),
		sd.PropSlice(slice),
		prop("Delegate", true),
		// Not stopped by shutdown.target ordering like a system service.
		prop("DefaultDependencies", false),
		prop("MemoryAccounting", true),
		prop("CPUAccounting", true),
		prop("TasksAccounting", true),
	}
	if unified {
		ps = append(ps, prop("IOAccounting", true))
	} else {
		ps = append(ps, prop("BlockIOAccounting", true))
	}
	if pid > 0 {
		ps = append(ps, sd.PropPids(uint32(pid)))
	}
	return ps
}

// resourceProperties converts the limits systemd has properties for; the
// cgroup files are written directly afterwards too (exact values, and
// everything systemd lacks). Fields left nil (or 0, as runc's update
// leaves them) produce nothing.
func resourceProperties(r *specs.LinuxResources, unified bool) ([]sd.Property, error) {
	if r == nil {
		return nil, nil
	}
	var ps []sd.Property
	if m := r.Memory; m != nil {
		var limit int64
		if m.Limit != nil {
			limit = *m.Limit
		}
		if limit != 0 {
			name := "MemoryMax"
			if !unified {
				name = "MemoryLimit"
			}
			ps = append(ps, prop(name, limitU64(limit)))
		}
		if unified {
			if m.Reservation != nil && *m.Reservation != 0 {
				ps = append(ps, prop("MemoryLow", limitU64(*m.Reservation)))
			}
			if m.Swap != nil || limit == -1 {
				var swap int64
				if m.Swap != nil {
					swap = *m.Swap
				}
				s, err := fs2.SwapV2(swap, limit)
				if err != nil {
					return nil, err
				}
				if s != "" {
					v, err := parseMax(s)
					if err != nil {
						return nil, err
					}
					ps = append(ps, prop("MemorySwapMax", v))
				}
			}
		}
	}
	if c := r.CPU; c != nil {
		idle := c.Idle != nil && *c.Idle == 1
		if c.Shares != nil && *c.Shares != 0 && !idle {
			if unified {
				ps = append(ps, prop("CPUWeight", fs2.CPUWeight(*c.Shares)))
			} else {
				ps = append(ps, prop("CPUShares", *c.Shares))
			}
		}
		var period uint64
		if c.Period != nil {
			period = *c.Period
		}
		if c.Quota != nil && *c.Quota != 0 {
			ps = append(ps, prop("CPUQuotaPerSecUSec", quotaPerSec(*c.Quota, period)))
		}
		if period != 0 {
			ps = append(ps, prop("CPUQuotaPeriodUSec", period))
		}
		if unified && c.Cpus != "" {
			b, err := cpusetBits(c.Cpus)
			if err != nil {
				return nil, fmt.Errorf("cpu.cpus: %w", err)
			}
			ps = append(ps, prop("AllowedCPUs", b))
		}
		if unified && c.Mems != "" {
			b, err := cpusetBits(c.Mems)
			if err != nil {
				return nil, fmt.Errorf("cpu.mems: %w", err)
			}
			ps = append(ps, prop("AllowedMemoryNodes", b))
		}
	}
	if p := r.Pids; p != nil && p.Limit != nil {
		v := infinity // below 0: no limit
		switch {
		case *p.Limit == 0:
			v = 1 // as runc: systemd has no TasksMax=0
		case *p.Limit > 0:
			v = uint64(*p.Limit)
		}
		ps = append(ps, prop("TasksMax", v))
	}
	if b := r.BlockIO; b != nil && b.Weight != nil && *b.Weight != 0 {
		if unified {
			ps = append(ps, prop("IOWeight", fs2.IOWeight(*b.Weight)))
		} else {
			ps = append(ps, prop("BlockIOWeight", uint64(*b.Weight)))
		}
	}
	if unified {
		ps = append(ps, unifiedProperties(r.Unified)...)
	}
	return ps, nil
}

// unifiedFiles maps the cgroup v2 files of linux.resources.unified that
// systemd has a property for. Others are only written directly.
var unifiedFiles = map[string]string{
	"memory.min":      "MemoryMin",
	"memory.low":      "MemoryLow",
	"memory.high":     "MemoryHigh",
	"memory.max":      "MemoryMax",
	"memory.swap.max": "MemorySwapMax",
	"pids.max":        "TasksMax",
	"cpu.weight":      "CPUWeight",
}

func unifiedProperties(u map[string]string) []sd.Property {
	keys := make([]string, 0, len(u))
	for k := range u {
		if unifiedFiles[k] != "" {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	var ps []sd.Property
	for _, k := range keys {
		// A value systemd cannot take is left to the direct write, which
		// reports it.
		if v, err := parseMax(strings.TrimSpace(u[k])); err == nil {
			ps = append(ps, prop(unifiedFiles[k], v))
		}
	}
	// Files with a value of another shape, as runc maps them.
	if v, ok := u["cpu.max"]; ok {
		// "QUOTA PERIOD" or "max [PERIOD]"
		f := strings.Fields(v)
		var period uint64
		if len(f) == 2 {
			if p, err := strconv.ParseUint(f[1], 10, 64); err == nil {
				period = p
			}
		}
		if len(f) >= 1 {
			quota := int64(-1)
			if f[0] != "max" {
				if q, err := strconv.ParseInt(f[0], 10, 64); err == nil {
					quota = q
				}
			}
			ps = append(ps, prop("CPUQuotaPerSecUSec", quotaPerSec(quota, period)))
		}
		if period != 0 {
			ps = append(ps, prop("CPUQuotaPeriodUSec", period))
		}
	}
	for _, c := range []struct{ file, prop string }{{"cpuset.cpus", "AllowedCPUs"}, {"cpuset.mems", "AllowedMemoryNodes"}} {
		if v, ok := u[c.file]; ok {
			if b, err := cpusetBits(strings.TrimSpace(v)); err == nil {
				ps = append(ps, prop(c.prop, b))
			}
		}
	}
	return ps
}

// limitU64: a spec limit of -1 (or any negative) is no limit.
func limitU64(v int64) uint64 {
	if v < 0 {
		return infinity
	}
	return uint64(v)
}

func parseMax(s string) (uint64, error) {
	if s == "max" {
		return infinity, nil
	}
	return strconv.ParseUint(s, 10, 64)
}

// quotaPerSec converts a CFS quota per period to systemd's CPU time per
// second. systemd keeps it as a whole percentage of a CPU (10 ms per
// second), so it is rounded up: the cgroup's own cpu.max, written directly
// afterwards, is exact and must not exceed what systemd allows above it.
func quotaPerSec(quota int64, period uint64) uint64 {
	if quota < 0 {
		return infinity
	}
	if period == 0 {
		period = 100000 // the kernel's and systemd's default period
	}
	v := uint64(quota) * 1000000 / period
	if rem := v % 10000; rem != 0 {
		v += 10000 - rem
	}
	return v
}

// cpusetBits turns a cpuset list ("0-3,8") into systemd's bitmask: byte i
// bit j is CPU (or node) 8i+j.
func cpusetBits(list string) ([]byte, error) {
	const maxID = 1 << 16
	var bits []byte
	for _, part := range strings.Split(strings.TrimSpace(list), ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		loS, hiS, isRange := strings.Cut(part, "-")
		lo, err := strconv.ParseUint(loS, 10, 32)
		if err != nil {
			return nil, fmt.Errorf("invalid cpuset %q", list)
		}
		hi := lo
		if isRange {
			if hi, err = strconv.ParseUint(hiS, 10, 32); err != nil || hi < lo {
				return nil, fmt.Errorf("invalid cpuset %q", list)
			}
		}
		if hi >= maxID {
			return nil, fmt.Errorf("cpuset %q: %d is too large", list, hi)
		}
		for i := lo; i <= hi; i++ {
			for uint64(len(bits)) <= i/8 {
				bits = append(bits, 0)
			}
			bits[i/8] |= 1 << (i % 8)
		}
	}
	if len(bits) == 0 {
		return nil, fmt.Errorf("invalid cpuset %q", list)
	}
	return bits, nil
}

// annotationProperties turns org.systemd.property.NAME annotations into
// properties. The value is a D-Bus value in GVariant text ("uint64 123",
// "'inactive-or-failed'", "true"); NAMESec given as a number of seconds
// becomes NAMEUSec, as systemd's own properties are in microseconds.
func annotationProperties(ann map[string]string) ([]sd.Property, error) {
	var keys []string
	for k := range ann {
		if strings.HasPrefix(k, AnnotationPrefix) {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	var ps []sd.Property
	for _, k := range keys {
		name := strings.TrimPrefix(k, AnnotationPrefix)
		if !validPropertyName(name) {
			return nil, fmt.Errorf("annotation %s: %q is not a property name", k, name)
		}
		v, err := dbus.ParseVariant(ann[k], dbus.Signature{})
		if err != nil {
			return nil, fmt.Errorf("annotation %s: value %q is not a D-Bus value (GVariant text, e.g. \"uint64 5\" or \"'text'\"): %w", k, ann[k], err)
		}
		if base, ok := strings.CutSuffix(name, "Sec"); ok && !strings.HasSuffix(base, "U") {
			usec, err := secondsToUSec(v)
			if err != nil {
				return nil, fmt.Errorf("annotation %s: %w", k, err)
			}
			name, v = base+"USec", dbus.MakeVariant(usec)
		}
		ps = append(ps, sd.Property{Name: name, Value: v})
	}
	return ps, nil
}

func validPropertyName(n string) bool {
	if n == "" || n[0] < 'A' || n[0] > 'Z' {
		return false
	}
	for _, c := range n {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

// secondsToUSec reads a number of seconds (integer or float) as µs.
func secondsToUSec(v dbus.Variant) (uint64, error) {
	var sec float64
	switch x := v.Value().(type) {
	case uint8:
		sec = float64(x)
	case int16:
		sec = float64(x)
	case uint16:
		sec = float64(x)
	case int32:
		sec = float64(x)
	case uint32:
		sec = float64(x)
	case int64:
		sec = float64(x)
	case uint64:
		sec = float64(x)
	case float64:
		sec = x
	default:
		return 0, fmt.Errorf("a ...Sec property takes a number of seconds, not %s", v.Signature())
	}
	if sec < 0 || math.IsNaN(sec) || sec*1e6 >= math.MaxUint64 {
		return 0, fmt.Errorf("%v seconds is out of range", sec)
	}
	return uint64(sec * 1e6), nil
}

// merge keeps the last property of each name, in the order of first
// appearance: annotations override teu's defaults and conversions.
func merge(lists ...[]sd.Property) []sd.Property {
	idx := map[string]int{}
	var out []sd.Property
	for _, l := range lists {
		for _, p := range l {
			if i, ok := idx[p.Name]; ok {
				out[i] = p
				continue
			}
			idx[p.Name] = len(out)
			out = append(out, p)
		}
	}
	return out
}
