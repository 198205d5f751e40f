package criu

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/checkpoint-restore/go-criu/v8/rpc"
	"golang.org/x/sys/unix"
)

// Minimum CRIU versions (major*10000 + minor*100 + sublevel) of what teu uses.
const (
	MinVersion        = 30000 // the VERSION request itself
	MinExtNetNS       = 31100 // an external network namespace
	MinCgroup2Freezer = 31400 // freezing by a cgroup v2 directory
	MinExtPidNS       = 31500 // an external pid namespace
	MinStatusReady    = 31500 // the status-ready notification (else CRIU writes status_fd)
	MinLsm            = 31600 // lsm_profile, lsm_mount_context
)

// FormatVersion turns 31701 into "3.17.1".
func FormatVersion(v int) string {
	return fmt.Sprintf("%d.%d.%d", v/10000, v/100%100, v%100)
}

// CgMode parses --manage-cgroups-mode ("" is CRIU's default, soft).
func CgMode(mode string) (rpc.CriuCgMode, error) {
	switch mode {
	case "":
		return rpc.CriuCgMode_DEFAULT, nil
	case "soft":
		return rpc.CriuCgMode_SOFT, nil
	case "full":
		return rpc.CriuCgMode_FULL, nil
	case "strict":
		return rpc.CriuCgMode_STRICT, nil
	case "ignore":
		return rpc.CriuCgMode_IGNORE, nil
	}
	return 0, fmt.Errorf("invalid --manage-cgroups-mode %q: want soft, full, strict or ignore", mode)
}

// EmptyNs parses --empty-ns values; runc accepts "network" only. The
// network namespace is always in the mask: teu (like runc) manages no
// network devices, so CRIU restores the namespace without its properties.
func EmptyNs(names []string) (uint32, error) {
	mask := uint32(unix.CLONE_NEWNET)
	for _, n := range names {
		if n != "network" {
			return 0, fmt.Errorf("--empty-ns %q is not supported (only \"network\")", n)
		}
	}
	return mask, nil
}

// PageServer parses --page-server ADDRESS:PORT.
func PageServer(s string) (*rpc.CriuPageServerInfo, error) {
	host, port, err := net.SplitHostPort(s)
	if err != nil || host == "" || port == "" {
		return nil, fmt.Errorf("invalid --page-server %q: want ADDRESS:PORT", s)
	}
	p, err := strconv.ParseUint(port, 10, 16)
	if err != nil || p == 0 {
		return nil, fmt.Errorf("invalid --page-server %q: bad port", s)
	}
	pp := int32(p)
	return &rpc.CriuPageServerInfo{Address: &host, Port: &pp}, nil
}

// ExtMount is an external mount map entry: at dump the mount at Key (a
// path inside the container) is stored under the name Val; at restore the
// name Key is bound from Val (a host path).
func ExtMount(key, val string) (*rpc.ExtMountMap, error) {
	// CRIU keeps the entry as "mnt[KEY]:VAL" unescaped: a key holding "]:"
	// would end early and restore a host path of the container's choosing,
	// and an empty key asks CRIU to detect external mounts itself.
	if key == "" || strings.Contains(key, "]:") {
		return nil, fmt.Errorf("invalid external mount destination %q", key)
	}
	return &rpc.ExtMountMap{Key: &key, Val: &val}, nil
}

// ExtNsKey is the key an external namespace of type name ("net", "pid")
// is saved under and found by at restore: runc's, so images move between
// runc and teu.
func ExtNsKey(name string) string {
	return "extRoot" + strings.ToUpper(name[:1]) + name[1:] + "NS"
}

// LogError is a failed request's error with the cause CRIU logged (a
// NotifyError is returned as it is: the cause is the caller's): the
// first informative "Error" line of its log (later ones are consequences;
// "exited, status=1" and "Dumping FAILED" say nothing) and where the log is.
func LogError(err error, logPath string) error {
	var ne *NotifyError
	if errors.As(err, &ne) {
		return err // ours, not CRIU's
	}
	var f *Failure
	if errors.As(err, &f) {
		// CRIU's own message is the last error, not the cause.
		err = errors.New("criu " + reqName(f.Type) + " failed")
	}
	line := firstError(logPath)
	if line == "" {
		return fmt.Errorf("%w (log: %s)", err, logPath)
	}
	return fmt.Errorf("%w: %s (log: %s)", err, line, logPath)
}

// firstError is the first informative line holding "Error" in a CRIU
// log, without its "(00.123456) " timestamp and "Error (file:line): "
// prefix, or else the first line holding "Error".
func firstError(path string) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	first := ""
	for sc.Scan() {
		l := sc.Text()
		i := strings.Index(l, "Error (")
		if i < 0 {
			continue
		}
		l = l[i:]
		if _, rest, ok := strings.Cut(l, "): "); ok {
			l = rest
		}
		l = strings.TrimSpace(l)
		if first == "" {
			first = l
		}
		if uninformative(l) {
			continue
		}
		return l
	}
	return first
}

func uninformative(l string) bool {
	for _, s := range []string{"exited, status=", "Dumping FAILED", "Restoring FAILED", "Pre-dumping FAILED"} {
		if strings.Contains(l, s) {
			return true
		}
	}
	return false
}

// DescriptorsFile is runc's file in an image directory saying what fds 0,
// 1 and 2 of the container's init were ("pipe:[123]", "/dev/null").
const DescriptorsFile = "descriptors.json"

// StdioDescriptors says what fds 0-2 of pid are, for descriptors.json
// ("pipe:[123]", "/dev/null"; "" when unreadable). A terminal from outside
// the process's mount namespace (the shell's, for --shell-job), which CRIU
// cannot find a mount for, is named by CRIU's key for an external terminal,
// "tty[RDEV:DEV]", and returned in external too, to be declared at dump:
// restore then passes its own stdio in its place, as runc does for pipes.
func StdioDescriptors(pid int) (names, external []string) {
	proc := "/proc/" + strconv.Itoa(pid)
	mounts := mountIDs(proc + "/mountinfo")
	names = make([]string, 3)
	for i := range names {
		fd := strconv.Itoa(i)
		t, err := os.Readlink(proc + "/fd/" + fd)
		if err != nil {
			continue
		}
		names[i] = t
		var st unix.Stat_t
		if unix.Stat(proc+"/fd/"+fd, &st) != nil || st.Mode&unix.S_IFMT != unix.S_IFCHR || !isTTY(st.Rdev) {
			continue
		}
		if id, ok := fdMountID(proc + "/fdinfo/" + fd); ok && mounts != nil && !mounts[id] {
			names[i] = fmt.Sprintf("tty[%x:%x]", st.Rdev, st.Dev)
			external = append(external, names[i])
		}
	}
	return names, external
}

// isTTY: a pty peer (majors 136-143), a virtual console or serial line
// (4), or /dev/tty, /dev/console (5).
func isTTY(rdev uint64) bool {
	m := unix.Major(rdev)
	return (m >= 136 && m <= 143) || m == 4 || m == 5
}

// mountIDs are the ids of the mounts in a mountinfo file; nil if unread.
func mountIDs(path string) map[int]bool {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil
	}
	ids := map[int]bool{}
	for _, l := range strings.Split(string(data), "\n") {
		if f, _, ok := strings.Cut(l, " "); ok {
			if id, err := strconv.Atoi(f); err == nil {
				ids[id] = true
			}
		}
	}
	return ids
}

// fdMountID reads "mnt_id:" from an fdinfo file.
func fdMountID(path string) (int, bool) {
	data, err := os.ReadFile(path)
	if err != nil {
		return 0, false
	}
	for _, l := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(l, "mnt_id:"); ok {
			id, err := strconv.Atoi(strings.TrimSpace(v))
			return id, err == nil
		}
	}
	return 0, false
}

// CheckImageDir refuses a restore image directory that is missing or
// holds no CRIU dump.
func CheckImageDir(dir string) error {
	st, err := os.Stat(dir)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("image directory %s does not exist", dir)
		}
		return fmt.Errorf("image directory: %w", err)
	}
	if !st.IsDir() {
		return fmt.Errorf("image directory %s is not a directory", dir)
	}
	if _, err := os.Stat(filepath.Join(dir, "inventory.img")); err != nil {
		return fmt.Errorf("%s holds no CRIU checkpoint (no inventory.img)", dir)
	}
	return nil
}
