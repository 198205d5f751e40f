// Package caps maps capability names to numbers and applies the five
// capability sets of a process spec to the calling thread.
package caps

import (
	"fmt"
	"log/slog"
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

// New parses c; capabilities above last (LastCap) are dropped: a newer
// profile must still run on an older kernel, as runc does.
func New(c *specs.LinuxCapabilities, last int) (*Set, error) {
	if last < 0 || last > 63 {
		return nil, fmt.Errorf("invalid last capability %d", last)
	}
	s := &Set{last: last}
	if c == nil {
		return s, nil
	}
	conv := func(list []string) (uint64, error) {
		var m uint64
		for _, n := range list {
			v, err := Parse(n)
			if err != nil {
				return 0, err
			}
			if v <= s.last {
				m |= 1 << uint(v)
			}
		}
		return m, nil
	}
	var err error
	if s.Bounding, err = conv(c.Bounding); err != nil {
		return nil, err
	}
	if s.Effective, err = conv(c.Effective); err != nil {
		return nil, err
	}
	if s.Inheritable, err = conv(c.Inheritable); err != nil {
		return nil, err
	}
	if s.Permitted, err = conv(c.Permitted); err != nil {
		return nil, err
	}
	if s.Ambient, err = conv(c.Ambient); err != nil {
		return nil, err
	}
	return s, nil
}

// ApplyBounding drops every capability not in the bounding set. It must run
// while we still hold CAP_SETPCAP, before switching user.
func (s *Set) ApplyBounding() error {
	for c := 0; c <= s.last; c++ {
		if s.Bounding&(1<<uint(c)) != 0 {
			continue
		}
		if err := unix.Prctl(unix.PR_CAPBSET_DROP, uintptr(c), 0, 0, 0); err != nil {
			if err == unix.EINVAL { // the kernel does not know it
				continue
			}
			return fmt.Errorf("drop capability %d from bounding set: %w", c, err)
		}
	}
	return nil
}

// Apply sets the effective, permitted and inheritable sets, then raises the
// ambient ones. Capabilities are per thread: the caller must be locked to
// the OS thread that will execve.
func (s *Set) Apply() error {
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	// A capability the runtime itself lacks (root without CAP_SYS_RESOURCE
	// in some sandboxes) cannot be granted: say so and go on without it
	// rather than fail every privileged container.
	var have [2]unix.CapUserData
	if err := unix.Capget(&hdr, &have[0]); err == nil {
		held := uint64(have[0].Permitted) | uint64(have[1].Permitted)<<32
		if missing := (s.Effective | s.Permitted | s.Inheritable | s.Ambient) &^ held; missing != 0 {
			slog.Warn("capabilities not held by the runtime are dropped", "caps", fmt.Sprintf("%#x", missing))
			s.Effective &= held
			s.Permitted &= held
			s.Inheritable &= held
			s.Ambient &= held
		}
	}
	data := [2]unix.CapUserData{
		{Effective: uint32(s.Effective), Permitted: uint32(s.Permitted), Inheritable: uint32(s.Inheritable)},
		{Effective: uint32(s.Effective >> 32), Permitted: uint32(s.Permitted >> 32), Inheritable: uint32(s.Inheritable >> 32)},
	}
	if err := unix.Capset(&hdr, &data[0]); err != nil {
		return fmt.Errorf("capset: %w", err)
	}
	if err := unix.Prctl(unix.PR_CAP_AMBIENT, unix.PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0); err != nil && err != unix.EINVAL {
		return fmt.Errorf("clear ambient capabilities: %w", err)
	}
	for c := 0; c <= s.last; c++ {
		if s.Ambient&(1<<uint(c)) == 0 {
			continue
		}
		if err := unix.Prctl(unix.PR_CAP_AMBIENT, unix.PR_CAP_AMBIENT_RAISE, uintptr(c), 0, 0); err != nil {
			return fmt.Errorf("raise ambient capability %d: %w", c, err)
		}
	}
	return nil
}
