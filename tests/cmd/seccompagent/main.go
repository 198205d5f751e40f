// seccompagent is the seccomp agent of teu's tests: it listens on a unix
// socket for the runtime-spec ContainerProcessState and notify fd a runtime
// sends for linux.seccomp.listenerPath, writes each state it gets to a file,
// and answers the notifications: mkdir and mkdirat fail with -errno (or
// succeed without doing anything with -errno 0); anything else goes on as
// if not notified.
package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log"
	"net"
	"os"
	"syscall"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	libseccomp "github.com/seccomp/libseccomp-golang"
	"golang.org/x/sys/unix"
)

func main() {
	sock := flag.String("socket", "", "unix socket to listen on")
	stateFile := flag.String("state", "", "append each container state received to this file")
	errno := flag.Int("errno", int(unix.ENOSPC), "errno for mkdir/mkdirat; 0 fakes success")
	flag.Parse()
	if *sock == "" {
		log.Fatal("seccompagent: -socket is required")
	}
	os.Remove(*sock)
	l, err := net.ListenUnix("unix", &net.UnixAddr{Name: *sock, Net: "unix"})
	if err != nil {
		log.Fatal(err)
	}
	for {
		c, err := l.AcceptUnix()
		if err != nil {
			log.Fatal(err)
		}
		fd, state, err := receive(c)
		c.Close()
		if err != nil {
			log.Print(err)
			continue
		}
		if *stateFile != "" {
			f, err := os.OpenFile(*stateFile, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
			if err == nil {
				f.Write(append(state, '\n'))
				f.Close()
			}
		}
		go serve(fd, int32(*errno))
	}
}

// receive reads one ContainerProcessState and its seccompFd.
func receive(c *net.UnixConn) (int, []byte, error) {
	buf := make([]byte, 1<<16)
	oob := make([]byte, unix.CmsgSpace(4*4))
	n, oobn, _, _, err := c.ReadMsgUnix(buf, oob)
	if err != nil {
		return -1, nil, err
	}
	var st specs.ContainerProcessState
	if err := json.Unmarshal(buf[:n], &st); err != nil {
		return -1, nil, fmt.Errorf("bad state %q: %w", buf[:n], err)
	}
	msgs, err := unix.ParseSocketControlMessage(oob[:oobn])
	if err != nil || len(msgs) != 1 {
		return -1, nil, fmt.Errorf("no fds: %v", err)
	}
	fds, err := unix.ParseUnixRights(&msgs[0])
	if err != nil {
		return -1, nil, err
	}
	for i, name := range st.Fds {
		if name == specs.SeccompFdName && i < len(fds) {
			return fds[i], buf[:n], nil
		}
	}
	return -1, nil, fmt.Errorf("no %s in %v", specs.SeccompFdName, st.Fds)
}

func serve(fd int, errno int32) {
	defer unix.Close(fd)
	for {
		req, err := libseccomp.NotifReceive(libseccomp.ScmpFd(fd))
		if err != nil {
			if errors.Is(err, syscall.ENOENT) || errors.Is(err, syscall.EINTR) {
				continue
			}
			return // the container is gone
		}
		resp := &libseccomp.ScmpNotifResp{ID: req.ID, Flags: libseccomp.NotifRespFlagContinue}
		if name, _ := req.Data.Syscall.GetNameByArch(req.Data.Arch); name == "mkdir" || name == "mkdirat" {
			resp.Flags, resp.Error = 0, errno
		}
		if err := libseccomp.NotifRespond(libseccomp.ScmpFd(fd), resp); err != nil && !errors.Is(err, syscall.ENOENT) {
			log.Print("respond: ", err)
		}
	}
}
