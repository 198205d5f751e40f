// Package hooks runs OCI lifecycle hooks: each gets the container's state
// JSON on stdin, its own args and env, and is killed after its timeout.
package hooks

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os/exec"
	"strings"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// Kinds are the hooks teu runs, by runtime-spec name, in lifecycle order.
var Kinds = []string{"prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop"}

// Of returns the hooks of kind in h (nil h: none).
func Of(h *specs.Hooks, kind string) []specs.Hook {
	if h == nil {
		return nil
	}
	switch kind {
	case "prestart":
		return h.Prestart //nolint:staticcheck // deprecated but still honoured
	case "createRuntime":
		return h.CreateRuntime
	case "createContainer":
		return h.CreateContainer
	case "startContainer":
		return h.StartContainer
	case "poststart":
		return h.Poststart
	case "poststop":
		return h.Poststop
	}
	return nil
}

// Run runs hooks in order and stops at the first that fails.
func Run(kind string, hooks []specs.Hook, state *specs.State) error {
	if len(hooks) == 0 {
		return nil
	}
	data, err := json.Marshal(state)
	if err != nil {
		return err
	}
	for i := range hooks {
		if err := runOne(&hooks[i], data); err != nil {
			return fmt.Errorf("error running %s hook #%d: %w", kind, i, err)
		}
	}
	return nil
}

// RunAll runs every hook even when some fail (poststop: the spec wants a
// warning for a failure and the remaining hooks run as if it had not
// happened), and returns the failures.
func RunAll(kind string, hooks []specs.Hook, state *specs.State) []error {
	if len(hooks) == 0 {
		return nil
	}
	data, err := json.Marshal(state)
	if err != nil {
		return []error{err}
	}
	var errs []error
	for i := range hooks {
		if err := runOne(&hooks[i], data); err != nil {
			errs = append(errs, fmt.Errorf("error running %s hook #%d: %w", kind, i, err))
		}
	}
	return errs
}

func runOne(h *specs.Hook, state []byte) error {
	ctx := context.Background()
	if h.Timeout != nil {
		if *h.Timeout <= 0 {
			return fmt.Errorf("%s: timeout must be positive", h.Path)
		}
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, time.Duration(*h.Timeout)*time.Second)
		defer cancel()
	}
	cmd := exec.CommandContext(ctx, h.Path)
	if len(h.Args) > 0 {
		cmd.Args = h.Args
	} else {
		cmd.Args = []string{h.Path}
	}
	// Without an env of its own a hook gets the runtime's, as runc's do
	// (exec.Cmd's nil Env).
	cmd.Env = h.Env
	cmd.Stdin = bytes.NewReader(state)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	// Don't let a hook's child that keeps our output pipe open hang us.
	cmd.WaitDelay = time.Second
	err := cmd.Run()
	if ctx.Err() == context.DeadlineExceeded {
		return fmt.Errorf("%s: timed out after %ds", h.Path, *h.Timeout)
	}
	if err != nil {
		msg := strings.TrimSpace(out.String())
		if len(msg) > 512 {
			msg = msg[:512] + "..."
		}
		if msg != "" {
			return fmt.Errorf("%s: %w: %s", h.Path, err, strings.ReplaceAll(msg, "\n", " "))
		}
		return fmt.Errorf("%s: %w", h.Path, err)
	}
	return nil
}
