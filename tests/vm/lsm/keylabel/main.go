// keylabel prints the SELinux label of the calling process's session
// keyring (KEYCTL_GET_SECURITY): busybox has no keyctl. tests/vm/lsm.sh
// builds it static for tests/integration/lsm.bats.
package main

import (
	"fmt"
	"os"
	"strings"

	"golang.org/x/sys/unix"
)

func main() {
	id, err := unix.KeyctlGetKeyringID(unix.KEY_SPEC_SESSION_KEYRING, false)
	if err != nil {
		fmt.Fprintln(os.Stderr, "keylabel: session keyring:", err)
		os.Exit(1)
	}
	l, err := unix.KeyctlString(unix.KEYCTL_GET_SECURITY, id)
	if err != nil {
		fmt.Fprintln(os.Stderr, "keylabel: get security:", err)
		os.Exit(1)
	}
	fmt.Println(strings.TrimRight(l, "\x00"))
}
