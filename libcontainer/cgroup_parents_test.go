package libcontainer

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/teu-runtime/teu/libcontainer/state"
)

func TestNewAndRemoveParents(t *testing.T) {
	root := t.TempDir()
	mine := filepath.Join(root, "pod", "mid", "ctr") // pod and mid are new
	theirs := filepath.Join(root, "existing", "ctr") // existing is someone else's
	if err := os.Mkdir(filepath.Join(root, "existing"), 0o755); err != nil {
		t.Fatal(err)
	}
	paths := map[string]string{"pids": mine, "memory": theirs}
	parents := newParents(paths)
	if len(parents) != 1 || parents["pids"] != filepath.Join(root, "pod") {
		t.Fatalf("newParents = %v, want only pids → %s/pod", parents, root)
	}
	for _, d := range paths {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	// A sibling (another container's cgroup) keeps mid, and so pod.
	sibling := filepath.Join(root, "pod", "mid", "other")
	if err := os.Mkdir(sibling, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, d := range paths {
		os.Remove(d) // what Destroy does
	}
	removeParents(paths, parents)
	if _, err := os.Stat(filepath.Join(root, "pod", "mid")); err != nil {
		t.Fatalf("a parent with a sibling in it went: %v", err)
	}
	os.Remove(sibling)
	removeParents(paths, parents)
	if _, err := os.Stat(filepath.Join(root, "pod")); !os.IsNotExist(err) {
		t.Fatalf("pod/mid and pod should be gone: %v", err)
	}
	if _, err := os.Stat(filepath.Join(root, "existing")); err != nil {
		t.Fatalf("a parent create did not make went: %v", err)
	}
	// A recorded top that is not an ancestor of the path removes nothing.
	os.MkdirAll(filepath.Join(root, "a", "b"), 0o755)
	removeParents(map[string]string{"pids": filepath.Join(root, "a", "b", "c")}, map[string]string{"pids": filepath.Join(root, "x")})
	if _, err := os.Stat(filepath.Join(root, "a", "b")); err != nil {
		t.Fatalf("removed outside the recorded parent: %v", err)
	}
}

// A rootless container that runs without a cgroup reports empty stats (as
// runc's events --stats); any other container without one is an error.
func TestStatsWithoutCgroup(t *testing.T) {
	c := &Container{state: state.State{ID: "r1"}}
	c.state.RootlessCgroups = true
	s, err := c.Stats()
	if err != nil {
		t.Fatalf("rootless, no cgroup: %v", err)
	}
	if s.Hugetlb == nil || s.Pids.Current != 0 {
		t.Fatalf("rootless, no cgroup: stats %+v, want empty with a hugetlb map", s)
	}
	c.state.RootlessCgroups = false
	if _, err := c.Stats(); !errors.Is(err, errNoCgroup) {
		t.Fatalf("root, no cgroup: err %v, want %v", err, errNoCgroup)
	}
}
