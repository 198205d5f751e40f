// Package systemd is the cgroup driver of --systemd-cgroup: the container's
// cgroup is a transient scope unit that systemd creates over D-Bus, with
// the limits systemd has properties for set as unit properties. The scope
// is delegated (Delegate=yes), and the cgroup files are then written
// directly by the fs2 (or, on v1 hosts, fs1) driver on the scope's cgroup:
// exact values and everything systemd has no property for (device rules,
// hugetlb, rdma, other unified keys). Freezing, stats and signals are the
// inner driver's.
package systemd

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"time"

	sd "github.com/coreos/go-systemd/v22/dbus"
	"github.com/godbus/dbus/v5"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/teu-runtime/teu/libcontainer/cgroups"
)

func init() { cgroups.Register(cgroups.DriverSystemd, NewManager) }

// jobTimeout bounds a start or stop job of the scope (runc waits as long).
const jobTimeout = 30 * time.Second

// Manager is a container's transient scope.
type Manager struct {
	cfg     cgroups.Config
	unit    Unit
	unified bool
	inner   cgroups.Manager // fs2 or fs1 on the scope's cgroup

	connOnce sync.Once
	conn     *sd.Conn
	connErr  error
	// started: Apply just sent the limits with the unit; the Set that
	// follows at create need not send them again.
	started bool
}

var (
	_ cgroups.Manager     = (*Manager)(nil)
	_ cgroups.OOMNotifier = (*Manager)(nil)
)

// NewManager is the systemd Driver. With paths nil the unit comes from
// cfg.Path ("slice:prefix:name"); else from the recorded cgroup
// directories, whose last element is the scope.
func NewManager(cfg cgroups.Config, paths map[string]string) (cgroups.Manager, error) {
	if os.Geteuid() != 0 {
		return nil, errors.New("--systemd-cgroup: only root is supported (a rootless container would need the user's systemd instance)")
	}
	inner := cfg
	inner.Systemd = false
	m := &Manager{cfg: cfg, unified: cgroups.GetMode() == cgroups.Unified}
	if paths != nil {
		name, err := unitFromPaths(paths)
		if err != nil {
			return nil, err
		}
		m.unit = Unit{Name: name}
		if m.inner, err = cgroups.Load(inner, paths); err != nil {
			return nil, err
		}
		return m, nil
	}
	u, err := ParsePath(cfg.Path, cfg.ID)
	if err != nil {
		return nil, err
	}
	if err := Running(); err != nil {
		return nil, err
	}
	m.unit = u
	if inner.Path, err = u.CgroupPath(); err != nil {
		return nil, err
	}
	if m.inner, err = cgroups.New(inner); err != nil {
		return nil, err
	}
	return m, nil
}

// Running reports whether systemd is the host's init (sd_booted(3)).
func Running() error {
	if fi, err := os.Lstat("/run/systemd/system"); err != nil || !fi.IsDir() {
		return errors.New("--systemd-cgroup: systemd is not running on this host (no /run/systemd/system)")
	}
	return nil
}

// Unit is the scope's name ("teu-<id>.scope").
func (m *Manager) Unit() string { return m.unit.Name }

func (m *Manager) dbus() (*sd.Conn, error) {
	m.connOnce.Do(func() {
		// godbus closes the connection when this context ends: it must
		// outlive the Manager, so no timeout here (each call has its own).
		m.conn, m.connErr = sd.NewWithContext(context.Background())
		if m.connErr != nil {
			m.connErr = fmt.Errorf("connect to systemd over D-Bus: %w", m.connErr)
		}
	})
	return m.conn, m.connErr
}

// Apply starts the scope with pid in it and the limits as properties,
// waits for the start job, then lets the inner driver finish the cgroup
// (controllers systemd did not enable, v1 hierarchies it does not manage).
func (m *Manager) Apply(pid int) error {
	var props []sd.Property
	if !m.cfg.LateLimits {
		var err error
		if props, err = resourceProperties(m.cfg.Resources, m.unified); err != nil {
			return err
		}
	}
	ann, err := annotationProperties(m.cfg.Annotations)
	if err != nil {
		return err
	}
	props = merge(baseProperties(m.cfg.ID, m.unit.Slice, pid, m.unified), props, ann)
	conn, err := m.dbus()
	if err != nil {
		return err
	}
	err = m.startUnit(conn, props)
	if isDBusError(err, "org.freedesktop.systemd1.UnitExists") {
		// A scope left failed or inactive by an earlier container of the
		// same name: clear it and try once more. An active one is in use.
		if state, _ := m.activeState(conn); state != "active" && state != "activating" {
			m.resetFailed(conn)
			err = m.startUnit(conn, props)
		}
	}
	if err != nil {
		return fmt.Errorf("start unit %s: %w", m.unit.Name, err)
	}
	m.started = !m.cfg.LateLimits
	if err := m.inner.Apply(pid); err != nil {
		return err
	}
	return nil
}

func (m *Manager) startUnit(conn *sd.Conn, props []sd.Property) error {
	ctx, cancel := context.WithTimeout(context.Background(), jobTimeout)
	defer cancel()
	ch := make(chan string, 1)
	if _, err := conn.StartTransientUnitContext(ctx, m.unit.Name, "replace", props, ch); err != nil {
		return err
	}
	return waitJob(ctx, ch, "start")
}

// waitJob waits for the JobRemoved signal of a job: its result is "done"
// when it succeeded.
func waitJob(ctx context.Context, ch <-chan string, what string) error {
	select {
	case res := <-ch:
		if res != "done" {
			return fmt.Errorf("%s job ended %q", what, res)
		}
		return nil
	case <-ctx.Done():
		return fmt.Errorf("%s job: no result from systemd within %v", what, jobTimeout)
	}
}

func (m *Manager) activeState(conn *sd.Conn) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), jobTimeout)
	defer cancel()
	p, err := conn.GetUnitPropertyContext(ctx, m.unit.Name, "ActiveState")
	if err != nil {
		return "", err
	}
	s, _ := p.Value.Value().(string)
	return s, nil
}

func (m *Manager) resetFailed(conn *sd.Conn) {
	ctx, cancel := context.WithTimeout(context.Background(), jobTimeout)
	defer cancel()
	_ = conn.ResetFailedUnitContext(ctx, m.unit.Name) // not failed, or gone: nothing to reset
}

func isDBusError(err error, name string) bool {
	var de dbus.Error
	if errors.As(err, &de) {
		return de.Name == name
	}
	var dp *dbus.Error
	return errors.As(err, &dp) && dp.Name == name
}

// Set changes the scope's properties (runtime only, they do not outlive
// a reboot) and then writes the cgroup files directly.
func (m *Manager) Set(r *specs.LinuxResources) error {
	if r == nil {
		return nil
	}
	// Refused limits are refused before systemd applies them.
	if c, ok := m.inner.(interface {
		CheckMemory(*specs.LinuxResources) error
	}); ok {
		if err := c.CheckMemory(r); err != nil {
			return err
		}
	}
	if m.started {
		m.started = false // Apply sent cfg.Resources with the unit
	} else {
		props, err := resourceProperties(r, m.unified)
		if err != nil {
			return err
		}
		if len(props) > 0 {
			conn, err := m.dbus()
			if err != nil {
				return err
			}
			ctx, cancel := context.WithTimeout(context.Background(), jobTimeout)
			err = conn.SetUnitPropertiesContext(ctx, m.unit.Name, true, props...)
			cancel()
			if err != nil {
				return fmt.Errorf("set properties of %s: %w", m.unit.Name, err)
			}
		}
	}
	return m.inner.Set(systemdQuota(r))
}

// systemdQuota is r with its CPU quota as systemd keeps it (a whole
// 10 ms per second, rounded up: quotaPerSec), so that the files say what
// the unit's CPUQuotaPerSecUSec does, as runc's do, and a daemon-reload,
// which writes systemd's value again, changes nothing.
func systemdQuota(r *specs.LinuxResources) *specs.LinuxResources {
	c := r.CPU
	if c == nil || c.Quota == nil || *c.Quota <= 0 {
		return r
	}
	period := uint64(100000)
	if c.Period != nil && *c.Period != 0 {
		period = *c.Period
	}
	q := int64(quotaPerSec(*c.Quota, period) * period / 1000000)
	r2, c2 := *r, *c
	c2.Quota = &q
	r2.CPU = &c2
	return &r2
}

// Destroy kills what is left in the scope, stops it (waiting for the stop
// job), clears a failed state so no unit remains, and removes whatever
// cgroup directories are left. A unit already gone is not an error.
func (m *Manager) Destroy() error {
	if m.inner.Exists() {
		// SIGKILL first: a stop job would send SIGTERM and wait up to the
		// unit's stop timeout.
		_ = m.inner.Signal(unix.SIGKILL)
	}
	var stopErr error
	if conn, err := m.dbus(); err != nil {
		stopErr = err
	} else {
		ctx, cancel := context.WithTimeout(context.Background(), jobTimeout)
		ch := make(chan string, 1)
		_, err := conn.StopUnitContext(ctx, m.unit.Name, "replace", ch)
		if err == nil {
			err = waitJob(ctx, ch, "stop")
		} else if isDBusError(err, "org.freedesktop.systemd1.NoSuchUnit") {
			err = nil
		}
		cancel()
		if err != nil {
			stopErr = fmt.Errorf("stop unit %s: %w", m.unit.Name, err)
		}
		m.resetFailed(conn)
	}
	if err := m.inner.Destroy(); err != nil {
		return err
	}
	return stopErr
}

func (m *Manager) Freeze() error                               { return m.inner.Freeze() }
func (m *Manager) Thaw() error                                 { return m.inner.Thaw() }
func (m *Manager) FreezerState() (cgroups.FreezerState, error) { return m.inner.FreezerState() }
func (m *Manager) Pids() ([]int, error)                        { return m.inner.Pids() }
func (m *Manager) Signal(sig unix.Signal) error                { return m.inner.Signal(sig) }
func (m *Manager) Stats() (*cgroups.Stats, error)              { return m.inner.Stats() }
func (m *Manager) Paths() map[string]string                    { return m.inner.Paths() }
func (m *Manager) Exists() bool                                { return m.inner.Exists() }

// OOMEvents is the inner driver's; nil where it has none.
func (m *Manager) OOMEvents(stop <-chan struct{}) (<-chan struct{}, error) {
	if n, ok := m.inner.(cgroups.OOMNotifier); ok {
		return n.OOMEvents(stop)
	}
	return nil, nil
}

// String names the unit, for messages.
func (m *Manager) String() string {
	return strings.TrimSpace(m.unit.Slice + " " + m.unit.Name)
}
