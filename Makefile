# teu — see README.md. `make demo` and `make test` are the two set-up
# commands; both install the Debian packages they need when run as root.
GO        ?= go
BUILD     := build
COMMIT    := $(shell git rev-parse --short HEAD 2>/dev/null)
LDFLAGS   := -X main.commit=$(COMMIT)
# Start-up is most of what a short teu command costs (bench/README.md):
# linked statically (no ld.so relocations; libseccomp.a from libseccomp-dev),
# without urfave/cli's man-page generator (its markdown package builds
# big tables at init), with the pure-Go user lookup (no NSS modules).
TAGS      := urfave_cli_no_docs osusergo netgo
LDFLAGS   += -extldflags "-static"
# Go 1.26's default "Green Tea" GC writes inline mark bits into every new
# small-object span, so each size class a short process touches costs one
# more page fault (~15 us each on this PVM guest): the classic collector
# saves ~75 faults per start (bench/README.md). Go 1.27 may drop the knob.
export GOEXPERIMENT := nogreenteagc
DEB_PKGS  := busybox-static libseccomp-dev bats jq gcc libc6-dev runc iproute2 uidmap strace shellcheck zsh criu

# make install: where, as a distribution package would put it (DESTDIR
# for staging).
PREFIX      ?= /usr/local
SBINDIR     ?= $(PREFIX)/sbin
MANDIR      ?= $(PREFIX)/share/man
BASHCOMPDIR ?= $(PREFIX)/share/bash-completion/completions
ZSHCOMPDIR  ?= $(PREFIX)/share/zsh/site-functions
MANPAGES    := $(notdir $(wildcard docs/man/*.8))

.PHONY: all teu deps demo test unit integration test-sanitizers fuzz vet check lint docs install uninstall clean test-cgroupv2 test-lsm test-systemd bench conformance test-engines test-runc test-runc-v2 runc-deps test-checkpoint test-pkgs test-chain-a test-chain-b

all: teu

teu:
	$(GO) build -trimpath -tags "$(TAGS)" -ldflags '$(LDFLAGS)' -o teu .

# deps installs what building and testing need on Debian (root only).
deps:
	@missing=""; for p in $(DEB_PKGS); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
		echo "installing:$$missing"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; \
	fi

# demo builds teu and a busybox bundle, then runs a container that shows
# its own view of the world.
demo: deps teu
	@tests/integration/mkbundle.sh $(BUILD)/demo-bundle >/dev/null
	@jq '.process.terminal=false | .hostname="teu-demo" | .process.args=["sh","-c","echo \"hostname: $$(hostname)\"; echo \"my pid:   $$$$\"; echo \"root:     $$(ls / | tr \"\\n\" \" \")\"; echo namespaces:; for n in pid mnt net ipc uts cgroup user time; do echo \"  $$n -> $$(readlink /proc/self/ns/$$n)\"; done; echo \"processes:\"; ps -o pid,user,args"]' \
		$(BUILD)/demo-bundle/config.json > $(BUILD)/demo-bundle/config.json.new && mv $(BUILD)/demo-bundle/config.json.new $(BUILD)/demo-bundle/config.json
	@echo "== host: hostname $$(hostname), pid ns $$(readlink /proc/self/ns/pid)"
	@echo "== container (./teu run --bundle $(BUILD)/demo-bundle demo-$$$$):"
	@./teu run --bundle $(BUILD)/demo-bundle demo-$$$$

vet:
	$(GO) vet ./...
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); echo "gofmt needed"; exit 1; }

# check: the fast lane (CONTRIBUTING.md): gofmt, go vet, golangci-lint
# (.golangci.yml), shellcheck on every shell script, and the unit tests
# under the race detector, the man pages' and completions' freshness
# included (docs_test.go).
GOLANGCI_VERSION := v2.15.0
GOLANGCI         := $(BUILD)/lint/golangci-lint-$(GOLANGCI_VERSION)
SHELL_SCRIPTS     = $(shell git ls-files '*.sh' '*.bash' '*.bats' .ci/run) contrib/completions/bash/teu
check: vet lint
	@command -v shellcheck >/dev/null || { echo "check: shellcheck missing (make deps, or apt-get install shellcheck)"; exit 1; }
	shellcheck -S warning $(SHELL_SCRIPTS)
	$(GO) test -race -count=1 ./...

lint: $(GOLANGCI)
	$(GOLANGCI) run ./...

$(GOLANGCI):
	@mkdir -p $(BUILD)/lint
	GOFLAGS= GOBIN=$(abspath $(BUILD)/lint) $(GO) install github.com/golangci/golangci-lint/v2/cmd/golangci-lint@$(GOLANGCI_VERSION)
	mv $(BUILD)/lint/golangci-lint $@

# docs: regenerate the man pages (docs/man) and shell completions
# (contrib/completions) from the CLI's definitions; `make unit` fails
# when they are stale.
docs:
	TEU_UPDATE_DOCS=1 $(GO) test -count=1 -run '^TestGeneratedDocs$$' .

# install: teu, its man pages and its bash and zsh completions; builds
# ./teu first only if there is none (so `sudo make install` after `make`
# does not build as root).
install: $(if $(wildcard teu),,teu)
	install -D -m 0755 teu $(DESTDIR)$(SBINDIR)/teu
	install -d $(DESTDIR)$(MANDIR)/man8
	install -m 0644 $(addprefix docs/man/,$(MANPAGES)) $(DESTDIR)$(MANDIR)/man8/
	install -D -m 0644 contrib/completions/bash/teu $(DESTDIR)$(BASHCOMPDIR)/teu
	install -D -m 0644 contrib/completions/zsh/_teu $(DESTDIR)$(ZSHCOMPDIR)/_teu

uninstall:
	rm -f $(DESTDIR)$(SBINDIR)/teu $(addprefix $(DESTDIR)$(MANDIR)/man8/,$(MANPAGES)) \
		$(DESTDIR)$(BASHCOMPDIR)/teu $(DESTDIR)$(ZSHCOMPDIR)/_teu

unit:
	$(GO) test -count=1 ./...

# fuzz: a short run of each fuzz target. Budgets are counts, not durations:
# Go 1.26's fuzz coordinator can fail a run at a -fuzztime deadline with
# "context deadline exceeded" and no failing input (go.dev/issue/75804).
fuzz:
	$(GO) test -run '^$$' -fuzz FuzzDecodePart -fuzztime 200000x ./nsenter/
	$(GO) test -run '^$$' -fuzz FuzzSpec -fuzztime 100000x ./libcontainer/validate/

integration: teu
	bats --timing tests/integration/

# test-sanitizers: the plan executor (nsenter/) built with AddressSanitizer
# and UndefinedBehaviorSanitizer (any report aborts), run over the bats
# tests that drive it. Linked dynamically: ASan has no static runtime.
# (Leak checks are off: the CLI runs under strace in some tests.)
SAN_FLAGS := -O1 -g -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
SAN_BATS  := caps console create cve devices exec fds hooks idmap mounts paths process run seccomp spec13 start timens userns
test-sanitizers:
	CGO_CFLAGS="$(SAN_FLAGS)" CGO_LDFLAGS="-fsanitize=address,undefined" \
		$(GO) build -asan -trimpath -tags "$(TAGS)" -o $(BUILD)/teu-asan .
	ASAN_OPTIONS=detect_leaks=0 TEU_SANITIZED=1 TEU_BIN=$(abspath $(BUILD)/teu-asan) bats --timing $(patsubst %,tests/integration/%.bats,$(SAN_BATS))

# test-cgroupv2: the cgroup v2 lane, in a QEMU guest that is a pure
# cgroup v2 host (tests/vm/README.md): every cgroup-touching bats file;
# fails if fewer tests run there than tests/vm/cgroupv2.floor. Root.
test-cgroupv2: deps teu
	tests/vm/cgroupv2.sh $(BUILD)/cgroupv2

# test-lsm: AppArmor and SELinux, in QEMU guests booted with each
# (tests/vm/README.md). Root.
test-lsm: deps teu
	tests/vm/lsm.sh $(BUILD)/lsm

# test-systemd: the systemd cgroup driver in a QEMU guest that boots a
# minimal Debian with systemd as PID 1 (tests/vm/README.md). Root; the
# first run debootstraps the guest's root (cached in /var/cache/teu-vm).
test-systemd: deps teu
	tests/vm/systemd.sh $(BUILD)/systemd

# test-checkpoint: checkpoint/restore with CRIU, which cannot work on this
# host's kernel, in a QEMU guest that has the modules it needs
# (tests/vm/checkpoint.sh, docs/checkpoint.md): teu's checkpoint.bats,
# runc's checkpoint.bats against teu, and a containerd round trip. Root.
CHECKPOINT_PKGS = iptables tar containerd $(RUNC_PKGS)
test-checkpoint: deps teu
	@missing=""; for p in $(CHECKPOINT_PKGS); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
		echo "installing:$$missing"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
			-o DPkg::Lock::Timeout=600 $$missing; \
	fi
	tests/vm/checkpoint.sh $(BUILD)/checkpoint

# bench: teu, runc and crun side by side (bench/README.md); root. It
# installs runc, crun and GNU time if missing, prints a markdown table and
# puts it into bench/README.md. Not part of `make test`. BENCH_FLAGS: e.g.
# "-reps 30" or "-only run,state".
BENCH_PKGS := runc crun time strace
bench: deps teu
	@missing=""; for p in $(BENCH_PKGS); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
		echo "installing:$$missing"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; \
	fi
	$(GO) build -o $(BUILD)/teubench ./bench/cmd/teubench
	$(GO) build -trimpath -tags "$(TAGS)" -ldflags '-extldflags "-static"' -o $(BUILD)/gostart ./bench/cmd/gostart
	$(BUILD)/teubench -teu ./teu -floor $(BUILD)/gostart -readme bench/README.md $(BENCH_FLAGS)

# test-engines: containerd (ctr, and Kubernetes' CRI through crictl), Docker
# and podman with teu as their runtime (tests/engines/, docs/engines.md);
# root. Installs ENGINE_PKGS and builds crictl into build/ if missing, then
# runs every tests/engines/*.sh scenario script (not lib.sh) in name order;
# each starts its engine privately under a temp dir. Fails if any fails.
ENGINE_PKGS    := containerd docker.io podman
CRICTL_VERSION := v1.37.0
test-engines: deps teu
	@missing=""; for p in $(ENGINE_PKGS); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
		echo "installing:$$missing"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
			-o DPkg::Lock::Timeout=600 $$missing; \
	fi
	@[ -x $(BUILD)/crictl ] || { echo "building crictl $(CRICTL_VERSION)"; \
		GOFLAGS= GOBIN=$(abspath $(BUILD)) $(GO) install sigs.k8s.io/cri-tools/cmd/crictl@$(CRICTL_VERSION); }
	@fail=0; for s in $$(LC_ALL=C ls tests/engines/*.sh); do \
		[ "$${s##*/}" = lib.sh ] && continue; \
		bash "$$s" || fail=1; \
	done; exit $$fail

# conformance: the OCI runtime-tools validation suite (tests/conformance/),
# failing on any failure not in tests/conformance/expected-failures.txt.
conformance: teu
	tests/conformance/run.sh

# test-runc: runc's own integration suite (runc v1.5.3's tests/integration,
# bats) against ./teu (tests/runc/run.sh); root. Installs RUNC_PKGS if
# missing, downloads the suite with `go mod download`, builds its helpers
# and the busybox + debian images locally (cached in /var/cache/teu-runc).
# Fails on any failure not in tests/runc/expected-failures.txt (what runc
# itself fails on this host). RUNTIME=runc: against runc v1.5.3 built from
# the same module; RUNC_TESTS="kill.bats exec.bats": those files only.
# Results: build/runc-suite/results/<runtime>/. Part of `test`. criu is
# installed but cannot work on this kernel: checkpoint.bats runs in the
# checkpoint lane's guest instead.
RUNC_PKGS := gawk debootstrap pkg-config tini
runc-deps:
	@missing=""; for p in $(RUNC_PKGS); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
		echo "installing:$$missing"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; \
	fi
test-runc: deps teu runc-deps
	RUNTIME="$(RUNTIME)" RUNC_TESTS="$(RUNC_TESTS)" tests/runc/run.sh

# test-runc-v2: runc's cgroup tests on cgroup v2 (the host skips them),
# in the systemd guest (tests/vm/runc-v2.sh): teu's fs2 driver, its
# systemd driver, and rootless with and without a delegated cgroup;
# failures compared with tests/runc/expected-failures-v2.txt. Root.
# RUNTIME=runc: runc v1.5.3 itself, in the same guest.
test-runc-v2: deps teu runc-deps
	RUNTIME="$(RUNTIME)" tests/vm/runc-v2.sh $(BUILD)/runc-v2

# test: the whole suite, as CI runs it (root). Every lane's packages are
# installed and teu built first; then two chains of lanes run side by side
# (the machine's two cores: a QEMU guest is mostly waiting on TCG, the host
# lanes on containers), each chain's lanes one after another, its lines
# prefixed [A] or [B]. The chains share nothing a lane
# writes: runc's suite (build/runc-suite) is prepared and used in chain B
# only. TEST_JOBS=1 runs the chains one after the other.
#   chain A: make check (static checks, unit tests under the race
#     detector), a short fuzz run, the bats tests on this host, the same
#     with a sanitized executor, the cgroup v2, LSM and systemd guests,
#     the checkpoint guest (CRIU: teu's, runc's and containerd's
#     checkpoint tests; its runc suite is its own copy, not chain B's),
#     the engines (containerd, CRI, Docker, podman running teu), the
#     conformance suite (its last line: "N passed, M failed");
#   chain B: runc's own suite on this host, then on cgroup v2 in a guest
#     (the longest lane).
TEST_A   := check fuzz integration test-sanitizers test-cgroupv2 test-lsm test-systemd test-checkpoint test-engines conformance
TEST_B   := test-runc test-runc-v2
TEST_JOBS ?= 2
test: deps runc-deps test-pkgs teu
	$(MAKE) --no-print-directory -j$(TEST_JOBS) test-chain-a test-chain-b

# test-pkgs: what the lanes of both chains install, installed once before
# they run side by side (two apt-get runs would fight over dpkg's lock).
test-pkgs:
	@missing=""; for p in $(CHECKPOINT_PKGS) $(ENGINE_PKGS); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
		echo "installing:$$missing"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
			-o DPkg::Lock::Timeout=600 $$missing; \
	fi

# A chain: its lanes in order (all of them; a failure fails the chain); its lines are
# prefixed [A] or [B] (tests/chain.sh).
test-chain-a:
	MAKE="$(MAKE)" tests/chain.sh A $(TEST_A)
test-chain-b:
	MAKE="$(MAKE)" tests/chain.sh B $(TEST_B)

clean:
	rm -rf teu $(BUILD)
