package plan

import "testing"

// Hook failures read as runc's (os/exec's words): the signal by name.
func TestDescribeHookErrors(t *testing.T) {
	b := &Builder{}
	b.Add("error running startContainer hook #0: /bin/sh", OpNop)
	for _, c := range []struct {
		code   int
		detail string
		want   string
	}{
		{ErrHookKilled, "signal 31", "error running startContainer hook #0: /bin/sh: signal: bad system call"},
		{ErrHookKilled, "signal 9: it said this", "error running startContainer hook #0: /bin/sh: signal: killed: it said this"},
		{ErrHookFailed, "exit status 2: oops\n", "error running startContainer hook #0: /bin/sh: exited with an error: exit status 2: oops"},
	} {
		if got := b.Describe(0, c.code, c.detail); got != c.want {
			t.Errorf("Describe(%d, %q) = %q, want %q", c.code, c.detail, got, c.want)
		}
	}
}
