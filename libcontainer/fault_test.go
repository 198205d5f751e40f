package libcontainer

import (
	"strings"
	"testing"
)

func TestFaultsEnv(t *testing.T) {
	for v, want := range map[string]faults{
		"":                 {},
		"3":                {at: 3},
		"3:stop":           {at: 3, stop: true},
		"init ready":       {name: "init ready"},
		"cgroup made:stop": {name: "cgroup made", stop: true},
	} {
		t.Setenv(FaultEnv, v)
		f, err := newFaults(FaultEnv)
		if v != "" {
			want.env = FaultEnv
		}
		if err != nil || *f != want {
			t.Errorf("%q: %+v, %v", v, f, err)
		}
	}
	for _, v := range []string{"0", "-1", "3:kill", ":stop"} {
		t.Setenv(RestoreFaultEnv, v)
		if _, err := newFaults(RestoreFaultEnv); err == nil || !strings.Contains(err.Error(), RestoreFaultEnv) {
			t.Errorf("%q: %v", v, err)
		}
	}
	// Counting: only the step named is acted on (none here).
	f := &faults{at: 5}
	for range 4 {
		f.step("x")
	}
	if f.n != 4 {
		t.Fatalf("n = %d", f.n)
	}
}
