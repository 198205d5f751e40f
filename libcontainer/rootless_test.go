package libcontainer

import (
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

func TestMissingSubIDs(t *testing.T) {
	subuid := []byte("other:100000:65536\nalice:200000:1000\n1000:300000:10\nbad line\nalice:x:1\n")
	m := func(host, size uint32) []specs.LinuxIDMapping {
		return []specs.LinuxIDMapping{{ContainerID: 0, HostID: host, Size: size}}
	}
	for _, c := range []struct {
		ms   []specs.LinuxIDMapping
		want string // "" or a part of the hint
	}{
		{m(200000, 1000), ""},                                           // granted by name
		{m(300000, 10), ""},                                             // granted by uid
		{m(1000, 1), ""},                                                // the caller's own id
		{append(m(1000, 1), m(200000, 500)...), ""},                     // own id, then a range
		{m(999, 2), "no range with id 999"},                             // own id is 1000
		{m(200500, 600), "no range with id 201000"},                     // runs past the range
		{m(100000, 65536), "usermod --add-subuids 100000-165535 alice"}, // another user's
	} {
		got := missingSubIDs("/etc/subuid", "--add-subuids", subuid, "alice", 1000, 1000, c.ms)
		if c.want == "" && got != "" || c.want != "" && !strings.Contains(got, c.want) {
			t.Errorf("%v: got %q, want %q", c.ms, got, c.want)
		}
	}
	if got := missingSubIDs("/etc/subuid", "--add-subuids", nil, "alice", 1000, 1000, m(100000, 1)); !strings.Contains(got, "/etc/subuid grants alice no range") {
		t.Errorf("empty file: %q", got)
	}
}

func TestCheckRootless(t *testing.T) {
	s := &specs.Spec{Linux: &specs.Linux{Namespaces: []specs.LinuxNamespace{{Type: specs.PIDNamespace}, {Type: specs.MountNamespace}}}}
	if err := checkRootless(s, 0); err != nil {
		t.Errorf("root: %v", err)
	}
	err := checkRootless(s, 1000)
	if err == nil || !strings.HasPrefix(err.Error(), "rootless container requires user namespaces") || !strings.Contains(err.Error(), "teu spec --rootless") {
		t.Errorf("uid 1000 without a user namespace: %v", err)
	}
	for _, path := range []string{"", "/proc/1/ns/user"} {
		s.Linux.Namespaces = append(s.Linux.Namespaces[:2], specs.LinuxNamespace{Type: specs.UserNamespace, Path: path})
		if err := checkRootless(s, 1000); err != nil {
			t.Errorf("uid 1000 with a user namespace %q: %v", path, err)
		}
	}
}
