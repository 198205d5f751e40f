package libcontainer

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"strconv"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/teu-runtime/teu/libcontainer/system"
)

// Rootless is runc's --rootless: with it, cgroups the caller may not
// create are skipped (and device rules not written) instead of failing
// create. The zero value is "auto", decided when a cgroup is first made,
// not at every start of teu: it reads /proc/self/uid_map.
type Rootless int

// The values of --rootless.
const (
	RootlessAuto Rootless = iota
	RootlessOn
	RootlessOff
)

// ParseRootless reads the global --rootless flag: "true", "false" or
// "auto" (rootless when not root, or root only inside a user namespace).
func ParseRootless(mode string) (Rootless, error) {
	switch mode {
	case "", "auto":
		return RootlessAuto, nil
	case "true":
		return RootlessOn, nil
	case "false":
		return RootlessOff, nil
	}
	return RootlessAuto, fmt.Errorf("invalid --rootless %q: want true, false or auto", mode)
}

// cgroups reports whether cgroup permission errors are to be ignored.
func (r Rootless) cgroups() bool {
	switch r {
	case RootlessOn:
		return true
	case RootlessOff:
		return false
	}
	return rootlessAuto()
}

func rootlessAuto() bool {
	return os.Geteuid() != 0 || inUserNS()
}

// inUserNS reports whether we run in a user namespace other than the
// initial one (whose uid_map is the whole identity map).
func inUserNS() bool {
	data, err := system.ReadFile("/proc/self/uid_map")
	if err != nil {
		return false
	}
	return strings.Join(strings.Fields(string(data)), " ") != "0 0 4294967295"
}

// sealedCopy is sealedSelf for a caller who may not make mounts: a copy of
// our binary in a memfd, sealed so that nothing (the container's root
// through /proc/<pid>/exe included) can change it (CVE-2019-5736).
func sealedCopy() (*os.File, error) {
	fd, err := unix.MemfdCreate("teu", unix.MFD_CLOEXEC|unix.MFD_ALLOW_SEALING)
	if err != nil {
		return nil, fmt.Errorf("copy teu binary: memfd_create: %w", err)
	}
	mem := os.NewFile(uintptr(fd), "teu-exe")
	self, err := os.Open("/proc/self/exe")
	if err != nil {
		mem.Close()
		return nil, fmt.Errorf("copy teu binary: %w", err)
	}
	defer self.Close()
	if _, err := mem.ReadFrom(self); err != nil {
		mem.Close()
		return nil, fmt.Errorf("copy teu binary: %w", err)
	}
	seals := unix.F_SEAL_SEAL | unix.F_SEAL_SHRINK | unix.F_SEAL_GROW | unix.F_SEAL_WRITE
	if _, err := unix.FcntlInt(mem.Fd(), unix.F_ADD_SEALS, seals); err != nil {
		mem.Close()
		return nil, fmt.Errorf("seal teu binary copy: %w", err)
	}
	return mem, nil
}

// writeIDMaps gives the new user namespace of pid its id maps. Root writes
// them. An unprivileged caller may itself write only a map of its own id,
// once (for gid_map after denying setgroups, as the kernel requires); any
// other map goes through the setuid newuidmap/newgidmap (Debian package
// uidmap), which allow the ranges /etc/subuid and /etc/subgid grant.
func writeIDMaps(pid int, l *specs.Linux) error {
	dir := "/proc/" + strconv.Itoa(pid) + "/"
	root := os.Geteuid() == 0
	if root || ownIDOnly(l.UIDMappings, os.Geteuid()) {
		if err := os.WriteFile(dir+"uid_map", formatIDMap(l.UIDMappings), 0); err != nil {
			return fmt.Errorf("write uid_map: %w", err)
		}
	} else if err := runIDMapTool("newuidmap", pid, l.UIDMappings); err != nil {
		return err
	}
	if root || ownIDOnly(l.GIDMappings, os.Getegid()) {
		if !root {
			if err := os.WriteFile(dir+"setgroups", []byte("deny"), 0); err != nil {
				return fmt.Errorf("write setgroups: %w", err)
			}
		}
		if err := os.WriteFile(dir+"gid_map", formatIDMap(l.GIDMappings), 0); err != nil {
			return fmt.Errorf("write gid_map: %w", err)
		}
	} else if err := runIDMapTool("newgidmap", pid, l.GIDMappings); err != nil {
		return err
	}
	return nil
}

func formatIDMap(ms []specs.LinuxIDMapping) []byte {
	var b strings.Builder
	for _, m := range ms {
		fmt.Fprintf(&b, "%d %d %d\n", m.ContainerID, m.HostID, m.Size)
	}
	return []byte(b.String())
}

// ownIDOnly: the map is the caller's own id, once, which the kernel lets
// an unprivileged process write.
func ownIDOnly(ms []specs.LinuxIDMapping, id int) bool {
	return len(ms) == 1 && ms[0].Size == 1 && int64(ms[0].HostID) == int64(id)
}

func runIDMapTool(tool string, pid int, ms []specs.LinuxIDMapping) error {
	path, err := exec.LookPath(tool)
	if err != nil {
		for _, d := range []string{"/usr/bin/", "/usr/sbin/", "/bin/"} {
			if _, e := os.Stat(d + tool); e == nil {
				path, err = d+tool, nil
				break
			}
		}
		if err != nil {
			return fmt.Errorf("%s not found: a user other than root needs it for id maps other than its own id (Debian package uidmap)", tool)
		}
	}
	args := []string{strconv.Itoa(pid)}
	for _, m := range ms {
		args = append(args, strconv.FormatUint(uint64(m.ContainerID), 10),
			strconv.FormatUint(uint64(m.HostID), 10), strconv.FormatUint(uint64(m.Size), 10))
	}
	var out bytes.Buffer
	cmd := exec.Command(path, args...)
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		msg := strings.Join(strings.Fields(out.String()), " ")
		return fmt.Errorf("%s %s: %w: %s%s", tool, strings.Join(args, " "), err, msg, subIDHint(tool, ms))
	}
	return nil
}

// subIDHint says which range /etc/subuid (newuidmap) or /etc/subgid
// (newgidmap) does not grant the caller, when that is why the tool failed.
func subIDHint(tool string, ms []specs.LinuxIDMapping) string {
	file, id, flag := "/etc/subuid", os.Geteuid(), "--add-subuids"
	if tool == "newgidmap" {
		file, id, flag = "/etc/subgid", os.Getegid(), "--add-subgids"
	}
	name := strconv.Itoa(os.Geteuid())
	if u, err := user.LookupId(name); err == nil {
		name = u.Username
	}
	data, err := os.ReadFile(file)
	if err != nil {
		return fmt.Sprintf(" (%s: %v)", file, err)
	}
	return missingSubIDs(file, flag, data, name, os.Geteuid(), id, ms)
}

// missingSubIDs checks the host ids of ms against the ranges a subid file
// (data) grants user (by name or uid): the caller's own id needs none.
// It names the first id no range covers and the usermod(8) call that adds
// the mapping's range, or says "" when all are granted.
func missingSubIDs(file, flag string, data []byte, name string, uid, own int, ms []specs.LinuxIDMapping) string {
	type span struct{ lo, hi int64 } // [lo, hi)
	var granted []span
	for _, line := range strings.Split(string(data), "\n") {
		f := strings.Split(strings.TrimSpace(line), ":")
		if len(f) != 3 || (f[0] != name && f[0] != strconv.Itoa(uid)) {
			continue
		}
		lo, err1 := strconv.ParseInt(f[1], 10, 64)
		n, err2 := strconv.ParseInt(f[2], 10, 64)
		if err1 == nil && err2 == nil && n > 0 {
			granted = append(granted, span{lo, lo + n})
		}
	}
	for _, m := range ms {
		lo, hi := int64(m.HostID), int64(m.HostID)+int64(m.Size)
		for id := lo; id < hi; {
			if id == int64(own) {
				id++
				continue
			}
			next := id
			for _, g := range granted {
				if g.lo <= id && id < g.hi {
					next = g.hi
					break
				}
			}
			if next == id {
				return fmt.Sprintf(" (%s grants %s no range with id %d: add one, e.g. usermod %s %d-%d %s)",
					file, name, id, flag, lo, hi-1, name)
			}
			id = next
		}
	}
	return ""
}
