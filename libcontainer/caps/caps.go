// Package caps maps capability names to numbers and applies the five
// capability sets of a process spec to the calling thread.
package caps

import (
	"fmt"
	"log/slog"
	"sort"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

var names = map[string]int{
	"CAP_CHOWN": 0, "CAP_DAC_OVERRIDE": 1, "CAP_DAC_READ_SEARCH": 2, "CAP_FOWNER": 3, "CAP_FSETID": 4,
	"CAP_KILL": 5, "CAP_SETGID": 6, "CAP_SETUID": 7, "CAP_SETPCAP": 8, "CAP_LINUX_IMMUTABLE": 9,
	"CAP_NET_BIND_SERVICE": 10, "CAP_NET_BROADCAST": 11, "CAP_NET_ADMIN": 12, "CAP_NET_RAW": 13,
	"CAP_IPC_LOCK": 14, "CAP_IPC_OWNER": 15, "CAP_SYS_MODULE": 16, "CAP_SYS_RAWIO": 17,
	"CAP_SYS_CHROOT": 18, "CAP_SYS_PTRACE": 19, "CAP_SYS_PACCT": 20, "CAP_SYS_ADMIN": 21,
	"CAP_SYS_BOOT": 22, "CAP_SYS_NICE": 23, "CAP_SYS_RESOURCE": 24, "CAP_SYS_TIME": 25,
	"CAP_SYS_TTY_CONFIG": 26, "CAP_MKNOD": 27, "CAP_LEASE": 28, "CAP_AUDIT_WRITE": 29,
	"CAP_AUDIT_CONTROL": 30, "CAP_SETFCAP": 31, "CAP_MAC_OVERRIDE": 32, "CAP_MAC_ADMIN": 33,
	"CAP_SYSLOG": 34, "CAP_WAKE_ALARM": 35, "CAP_BLOCK_SUSPEND": 36, "CAP_AUDIT_READ": 37,
	"CAP_PERFMON": 38, "CAP_BPF": 39, "CAP_CHECKPOINT_RESTORE": 40,
}

// Names returns every capability name teu knows, for `features`.
func Names() []string {
	out := make([]string, len(names))
	for n, v := range names {
		out[v] = n
	}
	return out
}

// Parse returns the number of a capability name ("CAP_SYS_ADMIN").
func Parse(name string) (int, error) {
	v, ok := names[strings.ToUpper(name)]
	if !ok {
		return 0, fmt.Errorf("unknown capability %q", name)
	}
	return v, nil
}

// Set is a parsed capability spec.
type Set struct {
	Bounding, Effective, Inheritable, Permitted, Ambient uint64
	last                                                 int
}

// LastCap is the highest capability the running kernel knows, asked of
// the kernel itself (PR_CAPBSET_READ fails with EINVAL past it), not read
// from /proc/sys/kernel/cap_last_cap: exec's init runs in the container's
// mount namespace, whose /proc the container may have covered with files
// of its own (a 0 there would keep every capability in the bounding set).
func LastCap() int {
	known := func(c int) bool {
		_, err := unix.PrctlRetInt(unix.PR_CAPBSET_READ, uintptr(c), 0, 0, 0)
		return err != unix.EINVAL
	}
	// Bisect: capabilities 0..last are known, none above.
	lo, hi := 0, 63 // known(lo); the answer is in [lo, hi]
	for lo < hi {
		mid := (lo + hi + 1) / 2
		if known(mid) {
			lo = mid
		} else {
			hi = mid - 1
		}
	}
	return lo
}

// New parses c. As runc, a name this build does not know and a
// capability the running kernel lacks (above last, LastCap) are left out
// with one warning, not refused: a newer profile still runs on an older
// kernel.
func New(c *specs.LinuxCapabilities, last int) (*Set, error) {
	if last < 0 || last > 63 {
		return nil, fmt.Errorf("invalid last capability %d", last)
	}
	s := &Set{last: last}
	if c == nil {
		return s, nil
	}
	unknown := map[string]bool{}
	conv := func(list []string) uint64 {
		var m uint64
		for _, n := range list {
			v, err := Parse(n)
			if err != nil || v > s.last {
				unknown[n] = true
				continue
			}
			m |= 1 << uint(v)
		}
		return m
	}
	s.Bounding = conv(c.Bounding)
	s.Effective = conv(c.Effective)
	s.Inheritable = conv(c.Inheritable)
	s.Permitted = conv(c.Permitted)
	s.Ambient = conv(c.Ambient)
	if len(unknown) > 0 {
		list := make([]string, 0, len(unknown))
		for n := range unknown {
			list = append(list, n)
		}
		sort.Strings(list)
		slog.Warn("ignoring unknown or unavailable capabilities: [" + strings.Join(list, " ") + "]")
	}
	return s, nil
}

// Held is the permitted set of the calling thread: what the runtime can
// grant.
func Held() (uint64, error) {
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var have [2]unix.CapUserData
	if err := unix.Capget(&hdr, &have[0]); err != nil {
		return 0, err
	}
	return uint64(have[0].Permitted) | uint64(have[1].Permitted)<<32, nil
}

// Format names the capabilities of a mask ("CAP_SYS_ADMIN,CAP_NET_RAW").
func Format(mask uint64) string {
	var out []string
	for n, v := range names {
		if mask&(1<<uint(v)) != 0 {
			out = append(out, n)
		}
	}
	sort.Strings(out)
	return strings.Join(out, ",")
}
