// Package lookup finds, inside a container's root, what a process needs
// and the executor must not parse: HOME and the executable args[0] names.
package lookup

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"strconv"
	"strings"

	"github.com/moby/sys/user"
	"golang.org/x/sys/unix"
)

// The parent looks into the container's root, through the fd of it the
// init handed over, for what the process needs and the executor must not
// parse: HOME from /etc/passwd, and the executable args[0] names. Every
// path is resolved by the kernel inside that root (RESOLVE_IN_ROOT), and a
// file is read only if it is a regular one, reopened from its O_PATH
// handle, so a FIFO or a device there can neither hang nor feed us.

// openInRoot opens p (relative to cwd when not absolute) inside root as
// O_PATH.
func openInRoot(root int, cwd, p string) (int, error) {
	if !path.IsAbs(p) {
		p = path.Join("/", cwd, p)
	}
	return unix.Openat2(root, strings.TrimLeft(p, "/")+"", &unix.OpenHow{
		Flags:   unix.O_PATH | unix.O_CLOEXEC,
		Resolve: unix.RESOLVE_IN_ROOT | unix.RESOLVE_NO_MAGICLINKS,
	})
}

// readRegular reads at most limit bytes of the regular file p in root.
func readRegular(root int, p string, limit int64) ([]byte, error) {
	fd, err := openInRoot(root, "/", p)
	if err != nil {
		return nil, err
	}
	defer unix.Close(fd)
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return nil, err
	}
	if st.Mode&unix.S_IFMT != unix.S_IFREG {
		return nil, fmt.Errorf("%s is not a regular file", p)
	}
	f, err := os.OpenFile("/proc/self/fd/"+strconv.Itoa(fd), os.O_RDONLY|unix.O_NONBLOCK|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(io.LimitReader(f, limit))
}

// Home is uid's home in the container's /etc/passwd, or "/".
func Home(root, uid int) string {
	data, err := readRegular(root, "/etc/passwd", 4<<20)
	if err != nil {
		return "/"
	}
	users, err := user.ParsePasswdFilter(strings.NewReader(string(data)), func(u user.User) bool { return u.Uid == uid })
	if err == nil && len(users) > 0 && users[0].Home != "" {
		return users[0].Home
	}
	return "/"
}

// Path finds argv0 in the container's PATH, as execvp would, and
// returns what to execve.
func Path(root int, cwd, argv0 string, env []string) (string, error) {
	if strings.Contains(argv0, "/") {
		if err := checkExecutable(root, cwd, argv0); err != nil {
			return "", fmt.Errorf("exec %s: %w", argv0, err)
		}
		return argv0, nil
	}
	pathEnv := "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
	for _, e := range env {
		if v, ok := strings.CutPrefix(e, "PATH="); ok {
			pathEnv = v
		}
	}
	for _, dir := range strings.Split(pathEnv, ":") {
		if dir == "" {
			dir = "."
		}
		p := path.Join(dir, argv0)
		if !path.IsAbs(dir) {
			p = "./" + p
		}
		if checkExecutable(root, cwd, p) == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("exec %s: executable file not found in $PATH", argv0)
}

func checkExecutable(root int, cwd, p string) error {
	fd, err := openInRoot(root, cwd, p)
	if err != nil {
		var errno unix.Errno
		if errors.As(err, &errno) {
			return errno
		}
		return err
	}
	defer unix.Close(fd)
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return err
	}
	if st.Mode&unix.S_IFMT == unix.S_IFDIR {
		return errors.New("is a directory")
	}
	if st.Mode&0o111 == 0 {
		return errors.New("permission denied")
	}
	return nil
}
