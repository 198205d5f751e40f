// gostart does nothing, as cheaply as a static cgo Go program can: the
// bench times its start to give the floor under which no Go runtime with
// a C constructor (teu's design) can start, on this machine, with teu's
// build flags (bench/README.md, "Floor").
package main

/*
static int zero(void) { return 0; }
*/
import "C"

import "os"

func main() { os.Exit(int(C.zero())) }
