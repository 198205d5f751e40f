package libcontainer

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// rootlessMode is runc's --rootless: with it, cgroups the caller may not
// create are skipped (and device rules not written) instead of failing
// create. "auto" is decided when a cgroup is first made, not at every
// start of teu: it reads /proc/self/uid_map.
var rootlessMode = "auto"

// SetRootless applies the global --rootless flag: "true", "false" or
// "auto" (rootless when not root, or root only inside a user namespace).
func SetRootless(mode string) error {
	switch mode {
	case "":
		mode = "auto"
	case "auto", "true", "false":
	default:
		return fmt.Errorf("invalid --rootless %q: want true, false or auto", mode)
	}
	rootlessMode = mode
	return nil
}

func rootlessCgroups() bool {
	switch rootlessMode {
	case "true":
		return true
	case "false":
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
	data, err := os.ReadFile("/proc/self/uid_map")
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
			return fmt.Errorf("an unprivileged user needs %s (package uidmap) for id maps other than its own id", tool)
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
		subids := "/etc/subuid"
		if tool == "newgidmap" {
			subids = "/etc/subgid"
		}
		return fmt.Errorf("%s %s: %w: %s (are these ranges granted to uid %d in %s?)", tool, strings.Join(args, " "), err, msg, os.Geteuid(), subids)
	}
	return nil
}
