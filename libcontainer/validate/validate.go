// Package validate checks a runtime-spec config before anything is created,
// so a bad config.json costs one clear error and leaves nothing behind.
package validate

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/teu-runtime/teu/libcontainer/hooks"
	"github.com/teu-runtime/teu/libcontainer/seccomp"
)

// Namespaces teu supports, by spec name.
var Namespaces = map[specs.LinuxNamespaceType]bool{
	specs.PIDNamespace: true, specs.NetworkNamespace: true, specs.MountNamespace: true,
	specs.IPCNamespace: true, specs.UTSNamespace: true, specs.UserNamespace: true,
	specs.CgroupNamespace: true, specs.TimeNamespace: true,
}

// NamespaceFlags are the CLONE_NEW* flag of each namespace type.
var NamespaceFlags = map[specs.LinuxNamespaceType]uint32{
	specs.PIDNamespace: unix.CLONE_NEWPID, specs.NetworkNamespace: unix.CLONE_NEWNET,
	specs.MountNamespace: unix.CLONE_NEWNS, specs.IPCNamespace: unix.CLONE_NEWIPC,
	specs.UTSNamespace: unix.CLONE_NEWUTS, specs.UserNamespace: unix.CLONE_NEWUSER,
	specs.CgroupNamespace: unix.CLONE_NEWCGROUP, specs.TimeNamespace: unix.CLONE_NEWTIME,
}

// NamespaceFiles are the /proc/<pid>/ns entries of each namespace type.
var NamespaceFiles = map[specs.LinuxNamespaceType]string{
	specs.PIDNamespace: "pid", specs.NetworkNamespace: "net", specs.MountNamespace: "mnt",
	specs.IPCNamespace: "ipc", specs.UTSNamespace: "uts", specs.UserNamespace: "user",
	specs.CgroupNamespace: "cgroup", specs.TimeNamespace: "time",
}

// NamespaceNames lists Namespaces, sorted (for `features`).
func NamespaceNames() []string {
	out := make([]string, 0, len(Namespaces))
	for t, ok := range Namespaces {
		if ok {
			out = append(out, string(t))
		}
	}
	sort.Strings(out)
	return out
}

// Rlimits teu knows, by spec name.
var Rlimits = map[string]int{
	"RLIMIT_CPU": 0, "RLIMIT_FSIZE": 1, "RLIMIT_DATA": 2, "RLIMIT_STACK": 3, "RLIMIT_CORE": 4,
	"RLIMIT_RSS": 5, "RLIMIT_NPROC": 6, "RLIMIT_NOFILE": 7, "RLIMIT_MEMLOCK": 8, "RLIMIT_AS": 9,
	"RLIMIT_LOCKS": 10, "RLIMIT_SIGPENDING": 11, "RLIMIT_MSGQUEUE": 12, "RLIMIT_NICE": 13,
	"RLIMIT_RTPRIO": 14, "RLIMIT_RTTIME": 15,
}

// Version checks that ociVersion is a runtime-spec 1.x teu implements.
func Version(v string) error {
	if v == "" {
		return errors.New("ociVersion is missing")
	}
	core := v
	if i := strings.IndexAny(core, "-+"); i >= 0 {
		core = core[:i]
	}
	parts := strings.Split(core, ".")
	if len(parts) != 3 {
		return fmt.Errorf("invalid ociVersion %q", v)
	}
	nums := make([]int, 3)
	for i, p := range parts {
		n, err := strconv.Atoi(p)
		if err != nil || n < 0 {
			return fmt.Errorf("invalid ociVersion %q", v)
		}
		nums[i] = n
	}
	if nums[0] != specs.VersionMajor || nums[1] > specs.VersionMinor {
		return fmt.Errorf("unsupported ociVersion %q: teu implements runtime-spec %d.0 to %s", v, specs.VersionMajor, specs.Version)
	}
	return nil
}

// Spec checks the parts of s that teu acts on. bundle is absolute.
func Spec(s *specs.Spec, bundle string) error {
	if err := Version(s.Version); err != nil {
		return err
	}
	if s.Root == nil || s.Root.Path == "" {
		return errors.New("root.path is missing")
	}
	rootfs := s.Root.Path
	if !filepath.IsAbs(rootfs) {
		rootfs = filepath.Join(bundle, rootfs)
	}
	if fi, err := os.Stat(rootfs); err != nil {
		return fmt.Errorf("rootfs %s: %w", rootfs, errors.Unwrap(err))
	} else if !fi.IsDir() {
		return fmt.Errorf("rootfs %s: not a directory", rootfs)
	}
	if s.Process == nil {
		return errors.New("process is missing")
	}
	if err := Process(s.Process); err != nil {
		return err
	}
	if s.Linux == nil {
		return errors.New("linux section is missing")
	}
	if err := linux(s); err != nil {
		return err
	}
	if err := seccomp.Validate(s.Linux.Seccomp); err != nil {
		return err
	}
	for i, m := range s.Mounts {
		if m.Destination == "" {
			return fmt.Errorf("mounts[%d]: destination is missing", i)
		}
		if strings.Contains(m.Destination, "\x00") || strings.Contains(m.Source, "\x00") {
			return fmt.Errorf("mounts[%d]: NUL byte in path", i)
		}
		if err := idmapMount(&s.Mounts[i], s.Linux); err != nil {
			return fmt.Errorf("mount %s: %w", m.Destination, err)
		}
	}
	if s.Hooks != nil {
		for _, kind := range hooks.Kinds {
			for _, h := range hooks.Of(s.Hooks, kind) {
				if !filepath.IsAbs(h.Path) {
					return fmt.Errorf("hook path %q is not absolute", h.Path)
				}
				if h.Timeout != nil && *h.Timeout <= 0 {
					return fmt.Errorf("hook %s: timeout must be positive", h.Path)
				}
			}
		}
	}
	return nil
}

// Process checks a process spec (the container's, or later exec's).
func Process(p *specs.Process) error {
	if len(p.Args) == 0 && p.CommandLine == "" {
		return errors.New("process.args must not be empty")
	}
	if p.Cwd == "" || !filepath.IsAbs(p.Cwd) {
		return fmt.Errorf("process.cwd %q must be an absolute path", p.Cwd)
	}
	for _, e := range p.Env {
		if !strings.Contains(e, "=") || strings.HasPrefix(e, "=") {
			return fmt.Errorf("process.env entry %q is not NAME=value", e)
		}
	}
	seen := map[string]bool{}
	for _, r := range p.Rlimits {
		if _, ok := Rlimits[r.Type]; !ok {
			return fmt.Errorf("unknown rlimit %q", r.Type)
		}
		if seen[r.Type] {
			return fmt.Errorf("rlimit %s given twice", r.Type)
		}
		seen[r.Type] = true
		if r.Soft > r.Hard {
			return fmt.Errorf("rlimit %s: soft limit %d exceeds hard limit %d", r.Type, r.Soft, r.Hard)
		}
	}
	if p.ConsoleSize != nil && !p.Terminal {
		return errors.New("process.consoleSize needs process.terminal")
	}
	return process13(p)
}

func linux(s *specs.Spec) error {
	l := s.Linux
	have := map[specs.LinuxNamespaceType]bool{}
	for _, ns := range l.Namespaces {
		if !Namespaces[ns.Type] {
			return fmt.Errorf("unknown namespace type %q", ns.Type)
		}
		if have[ns.Type] {
			return fmt.Errorf("namespace %s given twice", ns.Type)
		}
		have[ns.Type] = true
		if ns.Path != "" && !filepath.IsAbs(ns.Path) {
			return fmt.Errorf("namespace %s path %q is not absolute", ns.Type, ns.Path)
		}
	}
	if s.Hostname != "" && !have[specs.UTSNamespace] {
		return errors.New("hostname needs a uts namespace")
	}
	if s.Domainname != "" && !have[specs.UTSNamespace] {
		return errors.New("domainname needs a uts namespace")
	}
	if len(l.UIDMappings)+len(l.GIDMappings) > 0 && !have[specs.UserNamespace] {
		return errors.New("uid/gid mappings need a user namespace")
	}
	if have[specs.UserNamespace] && userNsNew(l) && (len(l.UIDMappings) == 0 || len(l.GIDMappings) == 0) {
		return errors.New("a new user namespace needs uidMappings and gidMappings")
	}
	if len(l.TimeOffsets) > 0 {
		if !have[specs.TimeNamespace] {
			return errors.New("timeOffsets need a time namespace")
		}
		for k := range l.TimeOffsets {
			if k != "monotonic" && k != "boottime" {
				return fmt.Errorf("unknown time offset clock %q", k)
			}
		}
	}
	for k := range l.Sysctl {
		if err := sysctl(k, have); err != nil {
			return err
		}
	}
	for i, d := range l.Devices {
		if !filepath.IsAbs(d.Path) {
			return fmt.Errorf("linux.devices[%d]: path %q is not absolute", i, d.Path)
		}
		switch d.Type {
		case "c", "u", "b", "p": // a fifo's major/minor are ignored
		default:
			return fmt.Errorf("linux.devices[%d]: invalid type %q", i, d.Type)
		}
	}
	switch l.RootfsPropagation {
	case "", "shared", "slave", "private", "unbindable", "rshared", "rslave", "rprivate", "runbindable":
	default:
		return fmt.Errorf("invalid rootfsPropagation %q", l.RootfsPropagation)
	}
	return linux13(l, have)
}

func userNsNew(l *specs.Linux) bool {
	for _, ns := range l.Namespaces {
		if ns.Type == specs.UserNamespace {
			return ns.Path == ""
		}
	}
	return false
}

// sysctl accepts only sysctls that a namespace of the container isolates.
func sysctl(k string, have map[specs.LinuxNamespaceType]bool) error {
	switch {
	case k == "kernel.msgmax", k == "kernel.msgmnb", k == "kernel.msgmni", k == "kernel.sem",
		k == "kernel.shmall", k == "kernel.shmmax", k == "kernel.shmmni", k == "kernel.shm_rmid_forced",
		strings.HasPrefix(k, "fs.mqueue."):
		if !have[specs.IPCNamespace] {
			return fmt.Errorf("sysctl %q needs an ipc namespace", k)
		}
	case strings.HasPrefix(k, "net."):
		if !have[specs.NetworkNamespace] {
			return fmt.Errorf("sysctl %q needs a network namespace", k)
		}
	case k == "kernel.hostname", k == "kernel.domainname":
		if !have[specs.UTSNamespace] {
			return fmt.Errorf("sysctl %q needs a uts namespace", k)
		}
	default:
		return fmt.Errorf("sysctl %q is not namespaced and is not allowed", k)
	}
	if strings.Contains(k, "..") || strings.Contains(k, "/") && strings.Contains(k, "..") {
		return fmt.Errorf("invalid sysctl %q", k)
	}
	return nil
}
