package criu

import (
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/checkpoint-restore/go-criu/v8/rpc"
	"golang.org/x/sys/unix"
)

// The test binary doubles as a fake `criu swrk 3`: with TEU_FAKE_CRIU set
// it serves one request on fd 3 the way the variable says, as CRIU would.
func TestMain(m *testing.M) {
	if mode := os.Getenv("TEU_FAKE_CRIU"); mode != "" && len(os.Args) == 3 && os.Args[1] == "swrk" {
		os.Exit(fakeCriu(mode))
	}
	os.Exit(m.Run())
}

func fakeCriu(mode string) int {
	const sock = 3
	buf := make([]byte, maxMsg)
	n, err := unix.Read(sock, buf)
	if err != nil || n == 0 {
		return 10
	}
	req := &rpc.CriuReq{}
	if req.UnmarshalVT(buf[:n]) != nil {
		return 11
	}
	send := func(resp *rpc.CriuResp, fd int) {
		data, _ := resp.MarshalVT()
		var oob []byte
		if fd >= 0 {
			oob = unix.UnixRights(fd)
		}
		unix.Sendmsg(sock, data, oob, nil, 0)
	}
	ok := true
	notify := func(script string, pid int32, fd int) bool {
		t := rpc.CriuReqType_NOTIFY
		send(&rpc.CriuResp{Type: &t, Success: &ok, Notify: &rpc.CriuNotify{Script: &script, Pid: &pid}}, fd)
		n, err := unix.Read(sock, buf)
		if err != nil || n == 0 {
			return false
		}
		ack := &rpc.CriuReq{}
		return ack.UnmarshalVT(buf[:n]) == nil && ack.GetType() == rpc.CriuReqType_NOTIFY && ack.GetNotifySuccess()
	}
	t := req.GetType()
	switch mode {
	case "version":
		major, minor, sub := int32(3), int32(17), int32(1)
		send(&rpc.CriuResp{Type: &t, Success: &ok, Version: &rpc.CriuVersion{MajorNumber: &major, MinorNumber: &minor, Sublevel: &sub}}, -1)
	case "gitversion":
		major, minor, git := int32(3), int32(18), "abc"
		send(&rpc.CriuResp{Type: &t, Success: &ok, Version: &rpc.CriuVersion{MajorNumber: &major, MinorNumber: &minor, Gitid: &git}}, -1)
	case "features":
		// Reports memory tracking only, whatever was asked.
		send(&rpc.CriuResp{Type: &t, Success: &ok, Features: &rpc.CriuFeatures{MemTrack: &ok, LazyPages: new(bool)}}, -1)
	case "restore":
		// The request must carry what the caller set.
		if req.GetOpts().GetRoot() != "/the/root" {
			return 12
		}
		if !notify("setup-namespaces", 42, -1) {
			return 13
		}
		var p [2]int
		unix.Pipe(p[:])
		unix.Write(p[1], []byte("pty"))
		if !notify("orphan-pts-master", 0, p[0]) {
			return 14
		}
		if !notify("post-restore", 43, -1) {
			return 15
		}
		send(&rpc.CriuResp{Type: &t, Success: &ok}, -1)
	case "fail":
		no, errno, msg := false, int32(unix.EPERM), "Error (criu/x.c:1): last\n"
		send(&rpc.CriuResp{Type: &t, Success: &no, CrErrno: &errno, CrErrmsg: &msg}, -1)
	case "crash":
		return 1
	case "notify-then-wait":
		// The caller's notification handler fails: we see the hang-up.
		if notify("setup-namespaces", 42, -1) {
			return 16
		}
		return 0
	}
	return 0
}

func startFake(t *testing.T, mode string) *Swrk {
	t.Helper()
	t.Setenv("TEU_FAKE_CRIU", mode)
	s, err := Start(os.Args[0], [3]*os.File{}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestVersion(t *testing.T) {
	t.Setenv("TEU_FAKE_CRIU", "version")
	v, err := Version(os.Args[0])
	if err != nil || v != 31701 {
		t.Fatalf("Version = %d, %v; want 31701", v, err)
	}
	if FormatVersion(v) != "3.17.1" {
		t.Errorf("FormatVersion(%d) = %s", v, FormatVersion(v))
	}
	// A development build counts as the next minor, as runc has it.
	t.Setenv("TEU_FAKE_CRIU", "gitversion")
	if v, err := Version(os.Args[0]); err != nil || v != 31900 {
		t.Errorf("git Version = %d, %v; want 31900", v, err)
	}
}

func TestFeaturesAnswer(t *testing.T) {
	t.Setenv("TEU_FAKE_CRIU", "features")
	yes := true
	f, err := Features(os.Args[0], &rpc.CriuFeatures{MemTrack: &yes, LazyPages: &yes})
	if err != nil {
		t.Fatal(err)
	}
	// CRIU's answer, not the question echoed.
	if !f.GetMemTrack() || f.GetLazyPages() {
		t.Errorf("features %+v: want mem track only", f)
	}
}

func TestRestoreNotifications(t *testing.T) {
	s := startFake(t, "restore")
	typ := rpc.CriuReqType_RESTORE
	root, dirFd := "/the/root", int32(0)
	var got []string
	var pty string
	resp, err := s.Do(&rpc.CriuReq{Type: &typ, Opts: &rpc.CriuOpts{Root: &root, ImagesDirFd: &dirFd}}, func(n *Notification) error {
		got = append(got, n.Script)
		if n.Script == "orphan-pts-master" {
			if len(n.Fds) != 1 {
				t.Errorf("orphan-pts-master with %d fds", len(n.Fds))
				return nil
			}
			b := make([]byte, 3)
			unix.Read(n.Fds[0], b)
			pty = string(b)
			unix.Close(n.Fds[0])
		}
		if n.Script == "post-restore" && n.Pid != 43 {
			t.Errorf("post-restore pid %d", n.Pid)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if resp.GetType() != rpc.CriuReqType_RESTORE || !resp.GetSuccess() {
		t.Errorf("response %v", resp)
	}
	if strings.Join(got, ",") != "setup-namespaces,orphan-pts-master,post-restore" || pty != "pty" {
		t.Errorf("notifications %v, fd read %q", got, pty)
	}
	if err := s.Close(); err != nil {
		t.Errorf("criu exit: %v", err)
	}
}

func TestFailure(t *testing.T) {
	s := startFake(t, "fail")
	defer s.Close()
	typ := rpc.CriuReqType_DUMP
	_, err := s.Do(&rpc.CriuReq{Type: &typ}, nil)
	var f *Failure
	if !errors.As(err, &f) || f.Type != rpc.CriuReqType_DUMP || f.Errno != int32(unix.EPERM) {
		t.Fatalf("err %v, want a dump Failure with EPERM", err)
	}
	if got := err.Error(); got != "criu dump failed: Error (criu/x.c:1): last: operation not permitted" {
		t.Errorf("error %q", got)
	}
}

func TestCrash(t *testing.T) {
	s := startFake(t, "crash")
	typ := rpc.CriuReqType_DUMP
	if _, err := s.Do(&rpc.CriuReq{Type: &typ}, nil); !errors.Is(err, ErrEOF) {
		t.Errorf("err %v, want ErrEOF", err)
	}
	if err := s.Close(); err == nil {
		t.Error("exit status of a crashed criu not reported")
	}
}

func TestNotifyError(t *testing.T) {
	s := startFake(t, "notify-then-wait")
	typ := rpc.CriuReqType_RESTORE
	boom := errors.New("hook failed")
	_, err := s.Do(&rpc.CriuReq{Type: &typ}, func(*Notification) error { return boom })
	var ne *NotifyError
	if !errors.As(err, &ne) || ne.Script != "setup-namespaces" || !errors.Is(err, boom) {
		t.Fatalf("err %v, want a NotifyError wrapping the handler's", err)
	}
	// Hanging up is how CRIU learns: it must exit, not wait for an ack.
	if err := s.Close(); err != nil {
		t.Errorf("criu exit: %v", err)
	}
	// The caller's error is not dressed up with CRIU's log.
	if got := LogError(err, "/nonexistent/restore.log"); got != err { //nolint:errorlint // the very same error
		t.Errorf("LogError changed a NotifyError: %v", got)
	}
}
