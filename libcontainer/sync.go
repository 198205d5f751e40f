package libcontainer

import (
	"encoding/json"
	"fmt"
	"io"
	"os"

	"golang.org/x/sys/unix"
)

// Messages the Go side of init and its parent exchange over the sync socket
// (SOCK_SEQPACKET: one JSON object per message).
const (
	msgHooks = "hooks" // init: mounts are done, run prestart+createRuntime hooks
	msgAck   = "ack"   // parent: go on
	msgReady = "ready" // init: about to block on exec.fifo
	msgError = "error" // either side: abort, with the reason
)

type syncMsg struct {
	Type  string `json:"type"`
	Error string `json:"error,omitempty"`
	// Phases: the init's setup durations, with "ready" when tracing.
	Phases []tracePhase `json:"phases,omitempty"`
}

type syncSock struct{ f *os.File }

func (s syncSock) send(m syncMsg) error {
	data, err := json.Marshal(m)
	if err != nil {
		return err
	}
	_, err = s.f.Write(data)
	return err
}

func (s syncSock) recv() (syncMsg, error) {
	var m syncMsg
	buf := make([]byte, 65536)
	n, err := s.f.Read(buf)
	if err != nil {
		return m, err
	}
	if n == 0 {
		return m, io.EOF
	}
	if err := json.Unmarshal(buf[:n], &m); err != nil {
		return m, fmt.Errorf("bad sync message %q: %w", buf[:n], err)
	}
	return m, nil
}

// socketPair makes the parent's and the child's ends of a sync socket.
func socketPair(name string) (parent, child *os.File, err error) {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, nil, fmt.Errorf("socketpair: %w", err)
	}
	return os.NewFile(uintptr(fds[0]), name+"-parent"), os.NewFile(uintptr(fds[1]), name+"-child"), nil
}
