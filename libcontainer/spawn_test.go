package libcontainer

import (
	"encoding/binary"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/teu-runtime/teu/libcontainer/plan"
	"github.com/teu-runtime/teu/libcontainer/state"
)

// executorEnd is the executor's side of a spawn's sync socket, for tests
// that play the executor.
func executorEnd(t *testing.T) (*spawn, int) {
	t.Helper()
	sp, err := newSpawn(nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sp.close)
	return sp, int(sp.child.Fd())
}

func sendMsg(t *testing.T, fd int, m plan.Msg, rights int) {
	t.Helper()
	var oob []byte
	if rights >= 0 {
		oob = unix.UnixRights(rights)
	}
	if err := unix.Sendmsg(fd, m.Encode(), oob, nil, 0); err != nil {
		t.Fatal(err)
	}
}

// replies reads what the parent answered, without waiting.
func replies(t *testing.T, fd int) []plan.Msg {
	t.Helper()
	var out []plan.Msg
	buf := make([]byte, 256)
	for {
		n, _, _, _, err := unix.Recvmsg(fd, buf, nil, unix.MSG_DONTWAIT)
		if errors.Is(err, unix.EAGAIN) {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		m, err := plan.DecodeMsg(buf[:n])
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, m)
	}
}

// readPart reads the plan part the parent sent.
func readPart(t *testing.T, sp *spawn) *plan.Part {
	t.Helper()
	buf := make([]byte, 64<<10)
	n, err := sp.planR.Read(buf)
	if err != nil {
		t.Fatal(err)
	}
	p, err := plan.Decode(buf[:n])
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// run answers MsgOK after each MsgSync and MsgFd (not after MsgPid nor the
// last sync), hands the handler the fd sent with a message, reports
// timings, and sends the part a handler queued once it has answered.
func TestSpawnRun(t *testing.T) {
	sp, ex := executorEnd(t)
	sp.b.Add("first step", plan.OpSetsid)
	if err := sp.send(); err != nil {
		t.Fatal(err)
	}
	if p := readPart(t, sp); p.First != 0 || len(p.Steps) != 1 || p.Steps[0].Op != plan.OpSetsid {
		t.Fatalf("first part: %+v", p)
	}
	var timings [][]uint32
	sp.Timings = func(first int, us []uint32) { timings = append(timings, append([]uint32{uint32(first)}, us...)) }

	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	payload := binary.LittleEndian.AppendUint32(nil, 42)
	sendMsg(t, ex, plan.Msg{Type: plan.MsgTimings, A: 0, Payload: payload}, -1)
	sendMsg(t, ex, plan.Msg{Type: plan.MsgPid, A: 1234}, -1)
	sendMsg(t, ex, plan.Msg{Type: plan.MsgSync, A: plan.TagHooks}, -1)
	sendMsg(t, ex, plan.Msg{Type: plan.MsgFd, A: plan.TagRoot}, int(r.Fd()))
	sendMsg(t, ex, plan.Msg{Type: plan.MsgSync, A: plan.TagReady}, -1)

	var got []string
	err = sp.run(func(m plan.Msg, fd int) error {
		got = append(got, strconv.Itoa(int(m.Type))+"/"+strconv.Itoa(int(m.A)))
		switch m.Type {
		case plan.MsgPid:
			if fd != -1 || sp.Pid != 1234 {
				t.Errorf("MsgPid: fd %d, Pid %d", fd, sp.Pid)
			}
			sp.b.Add("second step", plan.OpContinue)
			sp.queue()
		case plan.MsgFd:
			// The same pipe, received as a new fd the handler owns.
			var a, b unix.Stat_t
			if fd < 0 || unix.Fstat(fd, &a) != nil || unix.Fstat(int(r.Fd()), &b) != nil || a.Ino != b.Ino {
				t.Errorf("MsgFd: fd %d is not the pipe sent", fd)
			}
			if fd >= 0 {
				unix.Close(fd)
			}
		case plan.MsgSync:
			if m.A == plan.TagReady {
				return errDone
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"3/1234", "1/4", "2/5", "1/8"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("handled %v, want %v", got, want)
	}
	if !reflect.DeepEqual(timings, [][]uint32{{0, 42}}) {
		t.Errorf("timings %v", timings)
	}
	if rs := replies(t, ex); len(rs) != 2 || rs[0].Type != plan.MsgOK || rs[1].Type != plan.MsgOK {
		t.Errorf("replies %+v, want two MsgOK (hooks, root)", rs)
	}
	if p := readPart(t, sp); p.First != 1 || len(p.Steps) != 1 || p.Steps[0].Op != plan.OpContinue || sp.queued {
		t.Errorf("queued part: %+v (queued %v)", p, sp.queued)
	}
}

func TestSpawnRunErrors(t *testing.T) {
	noop := func(plan.Msg, int) error { return nil }
	for _, tc := range []struct {
		name    string
		send    func(ex int)
		handler func(plan.Msg, int) error
		err     string
	}{
		{"step failed", func(ex int) {
			sendMsg(t, ex, plan.Msg{Type: plan.MsgError, A: 0, B: int32(unix.ENOENT), Payload: []byte("/x\n")}, -1)
		}, noop, "mount proc: no such file or directory: /x"},
		{"short message", func(ex int) {
			if _, err := unix.Write(ex, []byte("abc")); err != nil {
				t.Fatal(err)
			}
		}, noop, "from init: short message"},
		{"unknown message", func(ex int) { sendMsg(t, ex, plan.Msg{Type: 99}, -1) }, noop, "unexpected message 99 from init"},
		{"handler error", func(ex int) { sendMsg(t, ex, plan.Msg{Type: plan.MsgSync, A: plan.TagHooks}, -1) },
			func(plan.Msg, int) error { return errors.New("hook failed") }, "hook failed"},
		{"executor gone", func(ex int) { unix.Shutdown(ex, unix.SHUT_WR) }, noop, io.EOF.Error()},
	} {
		sp, ex := executorEnd(t)
		sp.b.Add("mount proc", plan.OpSetsid)
		tc.send(ex)
		if err := sp.run(tc.handler); err == nil || err.Error() != tc.err {
			t.Errorf("%s: run = %v, want %q", tc.name, err, tc.err)
		}
	}
}

// A plan that could not be built is not sent.
func TestSpawnSendRefusesABadPlan(t *testing.T) {
	sp, _ := executorEnd(t)
	for i := 0; i <= plan.MaxSlots; i++ {
		sp.b.Slot()
	}
	if err := sp.send(); err == nil || !strings.Contains(err.Error(), "fd slots") {
		t.Errorf("send = %v", err)
	}
}

// listen makes a unix socket in a temp dir and returns its path and the
// connection accepted on it once dialled.
func listen(t *testing.T) (string, func() *net.UnixConn) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "s")
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	return path, func() *net.UnixConn {
		c, err := ln.AcceptUnix()
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
}

// recvFd reads one message with one fd from c.
func recvFd(t *testing.T, c *net.UnixConn) (string, int) {
	t.Helper()
	buf, oob := make([]byte, 4096), make([]byte, unix.CmsgSpace(4))
	n, oobn, _, _, err := c.ReadMsgUnix(buf, oob)
	if err != nil {
		t.Fatal(err)
	}
	fd, err := parseRights(oob[:oobn])
	if err != nil || fd < 0 {
		t.Fatalf("no fd received: %v", err)
	}
	t.Cleanup(func() { unix.Close(fd) })
	return string(buf[:n]), fd
}

func TestPidfdSocket(t *testing.T) {
	if _, err := dialUnix(filepath.Join(t.TempDir(), "none"), "pidfd socket"); err == nil || !strings.HasPrefix(err.Error(), "connect to pidfd socket ") {
		t.Errorf("dial of a missing socket: %v", err)
	}
	path, accept := listen(t)
	sock, err := dialUnix(path, "pidfd socket")
	if err != nil {
		t.Fatal(err)
	}
	defer sock.Close()
	conn := accept()
	// The init's pidfd, of a process that stands for it.
	res := sleeper(t)
	l := &launcher{c: &Container{state: state.State{ID: "c", Resources: res}}}
	if err := l.sendInitPidfd(sock); err != nil {
		t.Fatal(err)
	}
	body, fd := recvFd(t, conn)
	if body != pidfdKindInit {
		t.Errorf("body %q, want %q", body, pidfdKindInit)
	}
	info, _ := os.ReadFile("/proc/self/fdinfo/" + strconv.Itoa(fd))
	if !strings.Contains(string(info), "Pid:\t"+strconv.Itoa(res.InitPid)+"\n") {
		t.Errorf("the fd sent is not a pidfd of the init %d:\n%s", res.InitPid, info)
	}
	// An init that is gone: nothing is sent.
	l.c.state.InitStartTime++
	if err := l.sendInitPidfd(sock); err == nil || !strings.HasPrefix(err.Error(), "pidfd of the container's init: ") {
		t.Errorf("sendInitPidfd of a recycled pid: %v", err)
	}
}

func TestDialConsole(t *testing.T) {
	if _, err := dialConsole(filepath.Join(t.TempDir(), "none")); err == nil || !strings.HasPrefix(err.Error(), "connect to console socket ") {
		t.Errorf("dial of a missing console socket: %v", err)
	}
	path, accept := listen(t)
	f, err := dialConsole(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	conn := accept()
	if _, err := f.Write([]byte("x")); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 1)
	if n, err := conn.Read(buf); n != 1 || buf[0] != 'x' {
		t.Errorf("read %q, %v from the console socket", buf[:n], err)
	}
}
