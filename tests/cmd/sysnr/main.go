// sysnr makes one raw syscall and prints how it ended, for teu's seccomp
// tests: `sysnr NR [ARG...]` prints "ok" or the errno's name (ENOSYS,
// EPERM, ...). Build it static (CGO_ENABLED=0) to run in a busybox rootfs.
package main

import (
	"fmt"
	"os"
	"strconv"

	"golang.org/x/sys/unix"
)

func main() {
	if len(os.Args) < 2 || len(os.Args) > 8 {
		fmt.Fprintln(os.Stderr, "usage: sysnr NR [ARG...]")
		os.Exit(2)
	}
	var v [7]uintptr
	for i, a := range os.Args[1:] {
		n, err := strconv.ParseUint(a, 0, 64)
		if err != nil {
			fmt.Fprintln(os.Stderr, "sysnr:", err)
			os.Exit(2)
		}
		v[i] = uintptr(n)
	}
	_, _, e := unix.Syscall6(v[0], v[1], v[2], v[3], v[4], v[5], v[6])
	if e != 0 {
		fmt.Println(unix.ErrnoName(e))
		return
	}
	fmt.Println("ok")
}
