package nsenter

import (
	"bufio"
	"errors"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"

	"golang.org/x/sys/unix"
)

// smapsOf returns, per mapping of path in /proc/self/smaps, its
// permissions and its Size, Rss and Private_Dirty in kB.
func smapsOf(t *testing.T, path string) []map[string]string {
	t.Helper()
	f, err := os.Open("/proc/self/smaps")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var maps []map[string]string
	var cur map[string]string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) >= 5 && strings.Contains(fields[0], "-") && !strings.HasSuffix(fields[0], ":") {
			cur = nil
			if len(fields) == 6 && fields[5] == path {
				cur = map[string]string{"perms": fields[1]}
				maps = append(maps, cur)
			}
			continue
		}
		if cur != nil && len(fields) >= 2 {
			cur[strings.TrimSuffix(fields[0], ":")] = fields[1]
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return maps
}

// The constructor mapped the whole of this binary's code and read-only data
// in, and wrote its data segment private, before the Go runtime started.
func TestPrefaultImage(t *testing.T) {
	// Asked of the kernel itself, so that a constructor that stopped
	// prefaulting fails here instead of skipping.
	probe, err := unix.Mmap(-1, 0, 4096, unix.PROT_READ, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS)
	if err != nil {
		t.Fatal(err)
	}
	perr := unix.Madvise(probe, unix.MADV_POPULATE_READ)
	unix.Munmap(probe)
	if errors.Is(perr, unix.EINVAL) {
		t.Skip("this kernel has no MADV_POPULATE_READ (Linux 5.14): teu starts without the prefault")
	}
	if prefaultOK() == 0 {
		t.Fatal("the constructor mapped in no segment of the binary")
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	maps := smapsOf(t, exe)
	var code, data int
	for _, m := range maps {
		size, _ := strconv.Atoi(m["Size"])
		rss, _ := strconv.Atoi(m["Rss"])
		dirty, _ := strconv.Atoi(m["Private_Dirty"])
		switch m["perms"] {
		case "r-xp":
			code++
			if rss != size {
				t.Errorf("code mapping: Rss %d kB of %d kB: not prefaulted", rss, size)
			}
		case "rw-p":
			data++
			if dirty != size {
				t.Errorf("data mapping: Private_Dirty %d kB of %d kB: not written private at start", dirty, size)
			}
		}
	}
	if code == 0 || data == 0 {
		t.Fatalf("no code or data mapping of %s in /proc/self/smaps: %v", exe, maps)
	}
}

// The constructor keeps glibc's malloc to one arena: every thread the Go
// runtime starts frees the C struct that started it, and glibc would give
// each such thread an arena of its own (a 64 MiB reservation, two munmaps,
// an mprotect and a fault; then more page tables to tear down at exit).
func TestOneMallocArena(t *testing.T) {
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for range 4 {
		wg.Add(1)
		go func() {
			// A locked goroutine that blocks keeps its thread: the
			// runtime must start others meanwhile.
			runtime.LockOSThread()
			wg.Done()
			<-stop
		}()
	}
	wg.Wait()
	defer close(stop)
	if n := mallocArenas(); n != 1 {
		t.Fatalf("glibc malloc has %d arenas, want 1 (threads: %d)", n, threads(t))
	}
}

func threads(t *testing.T) int {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "Threads:"); ok {
			n, _ := strconv.Atoi(strings.TrimSpace(v))
			return n
		}
	}
	return 0
}
