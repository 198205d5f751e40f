package libcontainer

import (
	"fmt"
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// FaultEnv is the fault-injection hook of create, for tests: with
// TEU_TEST_CREATE_FAULT=N, create SIGKILLs itself right after the Nth step
// it reaches (or the step named N, as the message it prints names it);
// with N:stop it stops itself (SIGSTOP) there instead, so that a test can
// look at the container meanwhile. Steps are counted as they are reached,
// so for one config and one set of flags N always names the same point:
// tests/integration/crash.bats walks N from 1 until a create gets through,
// and so covers every step, those added later included.
// RestoreFaultEnv is the same hook for restore (checkpoint.bats walks it).
const (
	FaultEnv        = "TEU_TEST_CREATE_FAULT"
	RestoreFaultEnv = "TEU_TEST_RESTORE_FAULT"
)

// faults counts create's steps and acts at the one FaultEnv names.
type faults struct {
	env  string // the variable that named it, for the message
	at   int    // 0: none
	name string // or the step's name
	stop bool
	n    int
}

func newFaults(env string) (*faults, error) {
	v := os.Getenv(env)
	if v == "" {
		return &faults{}, nil
	}
	n, how, _ := strings.Cut(v, ":")
	f := &faults{env: env, stop: how == "stop"}
	if at, err := strconv.Atoi(n); err == nil {
		f.at = at
	} else {
		f.name = n
	}
	if (f.at < 1 && f.name == "") || (how != "" && how != "stop") {
		return nil, fmt.Errorf("invalid %s=%q: want N[:stop] (N >= 1, or a step's name)", env, v)
	}
	return f, nil
}

// step marks the end of one step of create (or restore).
func (f *faults) step(name string) {
	f.n++
	if f.at != f.n && f.name != name {
		return
	}
	sig, what := unix.SIGKILL, "killed"
	if f.stop {
		sig, what = unix.SIGSTOP, "stopped"
	}
	// Unbuffered: the line is out before the signal.
	fmt.Fprintf(os.Stderr, "teu: %s: %s after step %d (%s)\n", f.env, what, f.n, name)
	unix.Kill(os.Getpid(), sig)
}
