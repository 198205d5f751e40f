package fs2

import (
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/teu-runtime/teu/libcontainer/cgroups"
)

// Rootless without a delegated cgroup: device rules alone are skipped, a
// limit is an error.
func TestRootlessSetWithoutCgroup(t *testing.T) {
	m, err := NewManager(t.TempDir(), "/not/made", &cgroups.Config{Rootless: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Set(&specs.LinuxResources{Devices: []specs.LinuxDeviceCgroup{{Allow: false, Access: "rwm"}}}); err != nil {
		t.Fatalf("device rules only: %v", err)
	}
	limit := int64(10)
	err = m.Set(&specs.LinuxResources{Pids: &specs.LinuxPids{Limit: &limit}})
	if err == nil || !strings.Contains(err.Error(), "rootless") {
		t.Fatalf("pids limit: got %v, want the rootless error", err)
	}
}
