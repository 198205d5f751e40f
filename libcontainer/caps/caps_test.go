package caps

import (
	"os"
	"strconv"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

func TestParse(t *testing.T) {
	if v, err := Parse("CAP_SYS_ADMIN"); err != nil || v != 21 {
		t.Fatalf("Parse(CAP_SYS_ADMIN) = %d, %v", v, err)
	}
	if _, err := Parse("CAP_BOGUS"); err == nil {
		t.Fatal("Parse accepted CAP_BOGUS")
	}
	if n := Names(); len(n) != 41 || n[0] != "CAP_CHOWN" || n[40] != "CAP_CHECKPOINT_RESTORE" {
		t.Fatalf("Names() = %v", n)
	}
}

func TestNewMasks(t *testing.T) {
	s, err := New(&specs.LinuxCapabilities{Bounding: []string{"CAP_KILL", "CAP_CHOWN"}, Ambient: []string{"CAP_NET_RAW"}}, 40)
	if err != nil {
		t.Fatal(err)
	}
	if s.Bounding != 1<<5|1<<0 || s.Ambient != 1<<13 || s.Effective != 0 {
		t.Fatalf("got %+v", s)
	}
	// Unknown names and capabilities the kernel lacks are left out (with
	// a warning), as runc does.
	s, err = New(&specs.LinuxCapabilities{Effective: []string{"NOPE", "CAP_KILL", "CAP_CHECKPOINT_RESTORE"}}, 39)
	if err != nil || s.Effective != 1<<5 {
		t.Fatalf("New with unknown names: %+v, %v", s, err)
	}
}

// LastCap asks the kernel, and agrees with what the host's procfs says.
func TestLastCapIsTheKernels(t *testing.T) {
	data, err := os.ReadFile("/proc/sys/kernel/cap_last_cap")
	if err != nil {
		t.Skip("no /proc/sys/kernel/cap_last_cap to compare with")
	}
	want, err := strconv.Atoi(strings.TrimSpace(string(data)))
	if err != nil {
		t.Fatal(err)
	}
	if got := LastCap(); got != want {
		t.Fatalf("LastCap() = %d, /proc/sys/kernel/cap_last_cap = %d", got, want)
	}
}
