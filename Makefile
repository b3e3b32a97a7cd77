# rigwatch — plain Makefile (Redis 2.x style). `make` builds, `make run` starts the agent on its embedded
# defaults, `make check` runs every test (also under ASan+UBSan). Both install missing Debian packages first.

CC       ?= cc
BUILD    ?= build
SANITIZE ?=
PREFIX   ?= /usr/local
DESTDIR  ?=
VERSION  := 0.2.0

WARN     := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wformat=2 -Wno-format-nonliteral
CFLAGS   ?= -O2 -g
CPPFLAGS += -std=c11 -D_GNU_SOURCE -Iinclude -I$(BUILD)/gen -DRW_VERSION=\"$(VERSION)\"
LDLIBS   := -lcgroup -lmicrohttpd -lgnutls -lcrypt -lprotobuf-c -lz -lpthread -ldl
ifeq ($(SANITIZE),1)
# override: `make CFLAGS=...` on the command line must not drop the sanitizers from the objects.
override CFLAGS  += -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
override LDFLAGS += -fsanitize=address,undefined
endif

# The eBPF FP path (src/bpf/fpmode.bpf.c): x86_64 builds only (aarch64 has no x86_fpu tracepoint; the ptrace
# probe serves there). The BPF object is compiled with clang, linked and stripped of DWARF by bpftool (BTF kept),
# and embedded in the binary through its skeleton header. NO_BPF=1 leaves it out on x86_64 too.
BPF_CLANG ?= clang
BPFTOOL   ?= $(shell command -v bpftool 2>/dev/null || echo /usr/sbin/bpftool)
ifeq ($(filter x86_64-%,$(shell $(CC) -dumpmachine 2>/dev/null)),)
NO_BPF   := 1
endif
ifneq ($(NO_BPF),1)
CPPFLAGS += -DRW_HAVE_BPF
LDLIBS   += $(shell pkg-config --libs libbpf 2>/dev/null || echo -lbpf)
BPF_SKEL := $(BUILD)/gen/fpmode.skel.h
endif

PROTOS   := $(wildcard proto/*.proto)
GEN_C    := $(patsubst proto/%.proto,$(BUILD)/gen/%.pb-c.c,$(PROTOS))
GEN_H    := $(GEN_C:.c=.h)
LIB_SRC  := $(filter-out src/main.c,$(wildcard src/*.c))
# The git revision goes into rigwatch_build_info and `rigwatch version`; "unknown" outside a git checkout of this
# tree (a tarball unpacked inside some other repository must not take that one's revision).
REVISION := $(shell [ "$$(git rev-parse --show-toplevel 2>/dev/null)" = "$(CURDIR)" ] && git rev-parse HEAD 2>/dev/null || echo unknown)
LIB_OBJ  := $(patsubst src/%.c,$(BUILD)/obj/%.o,$(LIB_SRC)) $(patsubst $(BUILD)/gen/%.c,$(BUILD)/obj/gen/%.o,$(GEN_C))
LIB      := $(BUILD)/librigwatch.a
BIN      := $(BUILD)/rigwatch
UNIT_SRC := $(wildcard tests/unit/test_*.c)
UNIT_BIN := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(UNIT_SRC))
TOOL_DIRS:= $(filter-out tools/bench,$(wildcard tools/*))
BENCH_SRC:= $(wildcard tools/bench/*.c)
BENCH_BIN:= $(patsubst tools/bench/%.c,$(BUILD)/bench/%,$(BENCH_SRC))


.PHONY: all deps deps-run run check unit unit-san integration tools bench clean install FORCE
.SECONDARY: $(GEN_C) $(GEN_H)

all: $(BIN) $(UNIT_BIN) tools $(BENCH_BIN)

deps:
	@sh scripts/install-deps.sh

deps-run:
	@sh scripts/install-deps.sh run

$(BUILD)/gen/%.pb-c.c $(BUILD)/gen/%.pb-c.h: proto/%.proto
	@mkdir -p $(BUILD)/gen
	protoc-c --c_out=$(BUILD)/gen -Iproto $<

$(BUILD)/obj/gen/%.o: $(BUILD)/gen/%.c $(GEN_H)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -w -c -o $@ $<

$(BUILD)/obj/%.o: src/%.c $(wildcard include/rigwatch/*.h) $(GEN_H)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(WARN) -c -o $@ $<

$(BUILD)/obj/fpbpf.o: $(BPF_SKEL)

# Rewritten only when the revision changed, so a new commit relinks without rebuilding everything.
$(BUILD)/gen/rw_revision.h: FORCE
	@mkdir -p $(dir $@)
	@echo '#define RW_REVISION "$(REVISION)"' > $@.tmp; cmp -s $@.tmp $@ && rm -f $@.tmp || mv $@.tmp $@

$(BUILD)/obj/buildinfo.o: $(BUILD)/gen/rw_revision.h

$(BUILD)/gen/fpmode.bpf.o: src/bpf/fpmode.bpf.c src/bpf/fpmode.h
	@mkdir -p $(dir $@)
	$(BPF_CLANG) -O2 -g -target bpf -D__TARGET_ARCH_x86 -I/usr/include/x86_64-linux-gnu -Isrc/bpf \
		-Wall -Werror -c -o $@.tmp.o $<
	$(BPFTOOL) gen object $@ $@.tmp.o
	rm -f $@.tmp.o

$(BUILD)/gen/fpmode.skel.h: $(BUILD)/gen/fpmode.bpf.o
	$(BPFTOOL) gen skeleton $< name fpmode > $@.tmp && mv $@.tmp $@

$(LIB): $(LIB_OBJ)
	rm -f $@
	ar rcs $@ $^

$(BIN): $(BUILD)/obj/main.o $(LIB)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/tests/%: tests/unit/%.c tests/unit/rw_test.h $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) -Itests/unit $(CFLAGS) $(WARN) $(LDFLAGS) -o $@ $< $(LIB) $(LDLIBS) -lcunit -lm

$(BUILD)/bench/%: tools/bench/%.c $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(WARN) $(LDFLAGS) -o $@ $< $(LIB) $(LDLIBS) -lm

# Each tools/<name>/ directory holds a small Makefile fragment (tool.mk) naming its own target.
-include $(wildcard tools/*/tool.mk)

run: deps-run
	$(MAKE) $(BIN)
	./$(BIN) run

unit: $(UNIT_BIN)
	@RW_TALLY=$(RW_TALLY) sh tests/run-unit.sh $(BUILD)

unit-san:
	$(MAKE) BUILD=build-san SANITIZE=1 CFLAGS="-O1 -g" unit

integration: $(BIN) tools
	@RW_TALLY=$(RW_TALLY) sh tests/run-integration.sh $(BUILD)

# Every stage appends "stage passed failed skipped" to $(TALLY); the last line of `make check` sums them up:
# "check: N passed, N failed, N skipped". A test that cannot run here is counted as skipped, never as passed.
TALLY    := $(abspath $(BUILD))/check.tally
TIMES    := $(abspath $(BUILD))/check.times
# Stages run one after another; each builds with one job per CPU and runs its suites RW_JOBS at a time (see
# tests/run-unit.sh, tests/run-integration.sh, tests/fuzz/run.sh). How long each stage took is printed at the end.
NPROC    := $(shell nproc 2>/dev/null || echo 2)
STAGE     = sh tests/stage.sh $(TIMES)
check: deps
	@mkdir -p $(BUILD) && rm -f $(TALLY) $(TIMES)
	@$(STAGE) build $(MAKE) -j$(NPROC) all
	@$(STAGE) unit $(MAKE) unit RW_TALLY=$(TALLY)
	@$(STAGE) unit-san $(MAKE) -j$(NPROC) unit-san RW_TALLY=$(TALLY)
	@$(STAGE) integration $(MAKE) integration RW_TALLY=$(TALLY)
	@$(STAGE) valgrind $(MAKE) check-valgrind RW_TALLY=$(TALLY)
	@$(STAGE) arm64 $(MAKE) -j$(NPROC) check-arm64 RW_TALLY=$(TALLY)
	@$(STAGE) fuzz $(MAKE) -j$(NPROC) fuzz FUZZ_SECONDS=10 RW_TALLY=$(TALLY)
	@$(STAGE) install $(MAKE) check-install RW_TALLY=$(TALLY)
	@$(STAGE) churn $(MAKE) churn RW_TALLY=$(TALLY)
	@rc=0; $(STAGE) eval $(MAKE) eval-check || rc=$$?; \
	if [ $$rc = 0 ]; then echo "eval 1 0 0"; else echo "eval 0 1 0"; fi >> $(TALLY); [ $$rc = 0 ]
	@sh tests/tally.sh $(TALLY) $(TIMES)

# Paths in the example config, the unit and the man page are written for PREFIX=/usr/local and rewritten here.
# An existing /etc/rigwatch/rigwatch.conf is kept (the example goes next to it as rigwatch.conf.example).
install: $(BIN)
	install -D -m 0755 $(BIN) $(DESTDIR)$(PREFIX)/sbin/rigwatch
	install -d $(DESTDIR)$(PREFIX)/share/rigwatch/models
	install -m 0644 models/*.model models/*.rules $(DESTDIR)$(PREFIX)/share/rigwatch/models/
	install -d $(DESTDIR)$(SYSCONFDIR)/rigwatch $(DESTDIR)$(SYSTEMD_UNIT_DIR) $(DESTDIR)$(PREFIX)/share/man/man8
	sed 's|/usr/local/|$(PREFIX)/|g' deploy/rigwatch.conf > $(DESTDIR)$(SYSCONFDIR)/rigwatch/rigwatch.conf.example
	[ -e $(DESTDIR)$(SYSCONFDIR)/rigwatch/rigwatch.conf ] || \
		cp $(DESTDIR)$(SYSCONFDIR)/rigwatch/rigwatch.conf.example $(DESTDIR)$(SYSCONFDIR)/rigwatch/rigwatch.conf
	chmod 0644 $(DESTDIR)$(SYSCONFDIR)/rigwatch/rigwatch.conf.example
	sed -e 's|/usr/local/|$(PREFIX)/|g' -e 's|/etc/rigwatch/|$(SYSCONFDIR)/rigwatch/|g' deploy/rigwatch.service \
		> $(DESTDIR)$(SYSTEMD_UNIT_DIR)/rigwatch.service
	chmod 0644 $(DESTDIR)$(SYSTEMD_UNIT_DIR)/rigwatch.service
	sed -e 's|/usr/local/|$(PREFIX)/|g' -e 's|/etc/rigwatch/|$(SYSCONFDIR)/rigwatch/|g' man/rigwatch.8 \
		> $(DESTDIR)$(PREFIX)/share/man/man8/rigwatch.8
	chmod 0644 $(DESTDIR)$(PREFIX)/share/man/man8/rigwatch.8

clean:
	rm -rf build build-san

# --- hardening (issue 7) ---
# check-arm64    cross-build with Debian's gcc-aarch64-linux-gnu against the arm64 multiarch -dev packages and run
#                the unit suites under qemu-aarch64-static (the ARM event tables encoded by the arm64 libpfm4,
#                the FPCR decoder). qemu-user fakes /proc/self/stat (no RSS, no CPU times), has neither ptrace nor
#                perf_event_open (ENOSYS) and runs several
#                times slower, so the tests that need those syscalls (the probe, the response's re-check, perf
#                groups) or floods of thousands of connections are skipped (ARM64_SKIP), and counted as skipped.
# fuzz           libFuzzer targets tests/fuzz/fuzz_*.c (clang, ASan+UBSan), each run FUZZ_SECONDS from its seed
#                corpus tests/fuzz/corpus/<target>/; new inputs and crash artifacts go under $(FUZZ_BUILD).
# check-valgrind the unit suites under valgrind memcheck: any error or definite/indirect leak fails.
# install        PREFIX, DESTDIR: binary, models, example config, systemd unit, man page.
ARM64_CC     ?= aarch64-linux-gnu-gcc
ARM64_BUILD  ?= $(BUILD)/arm64
QEMU_ARM64   ?= qemu-aarch64-static
# suite/test names run-unit.sh's harness leaves out (RW_TEST_SKIP in tests/unit/rw_test.h)
ARM64_SKIP_LIST := procself/test_read_self fpprobe/test_read_modes fpprobe/test_stopped_thread fpprobe/test_uninterruptible_thread \
	fpprobe/test_refusals fpprobe/test_exit_mid_probe fpprobe/test_probe_thread \
	pmu/test_init_without_hardware_never_fails pmu/test_report pmu/test_cgroup_busy_and_sleeper \
	pmu/test_cgroup_vanished pmu/test_cgroup_emfile http/test_slow_clients http/test_connection_flood \
	fpprobe/test_traced_thread fpprobe/test_no_eintr fpprobe/test_spread \
	respond/test_consider_freeze_kill respond/test_shared_cgroup_frozen_not_killed respond/test_process_targets
hw_empty     :=
hw_space     := $(hw_empty) $(hw_empty)
hw_comma     := ,
ARM64_SKIP   := $(subst $(hw_space),$(hw_comma),$(strip $(ARM64_SKIP_LIST)))
FUZZ_BUILD   ?= $(BUILD)/fuzz
FUZZ_SECONDS ?= 15
FUZZ_FLAGS   := -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
FUZZ_SRC     := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_BIN     := $(patsubst tests/fuzz/%.c,$(BUILD)/fuzz/%,$(FUZZ_SRC))
VALGRIND     ?= valgrind --quiet --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite,indirect \
	--show-leak-kinds=definite,indirect --child-silent-after-fork=yes
SYSCONFDIR   ?= /etc
SYSTEMD_UNIT_DIR ?= $(PREFIX)/lib/systemd/system

.PHONY: check-arm64 fuzz fuzz-build fuzz-bins check-valgrind check-install churn fleet

check-arm64:
	$(MAKE) CC=$(ARM64_CC) BUILD=$(ARM64_BUILD) $(ARM64_BUILD)/rigwatch $(patsubst $(BUILD)/%,$(ARM64_BUILD)/%,$(UNIT_BIN))
	$(QEMU_ARM64) $(ARM64_BUILD)/rigwatch version
	RW_TALLY=$(RW_TALLY) RW_TEST_WRAP=$(QEMU_ARM64) RW_TEST_SKIP=$(ARM64_SKIP) sh tests/run-unit.sh $(ARM64_BUILD)

# Built in a sub-make with clang, so the library is instrumented for coverage (fuzzer-no-link) and sanitizers.
fuzz-build:
	$(MAKE) CC=clang BUILD=$(FUZZ_BUILD) SANITIZE= CFLAGS="-O1 -g -fsanitize=fuzzer-no-link $(FUZZ_FLAGS)" fuzz-bins

fuzz-bins: $(FUZZ_BIN)

$(BUILD)/fuzz/%: tests/fuzz/%.c tests/fuzz/fuzz.h $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) -Itests/unit $(CFLAGS) $(WARN) -fsanitize=fuzzer $(FUZZ_FLAGS) -o $@ $< $(LIB) $(LDLIBS) -lm

fuzz: fuzz-build
	@RW_TALLY=$(RW_TALLY) sh tests/fuzz/run.sh $(FUZZ_BUILD) $(FUZZ_SECONDS)

# Under valgrind the probed threads' MXCSR is valgrind's emulated state, not the CPU register ptrace reads: those
# tests are left to `make unit` and `make unit-san` (counted as skipped here).
# Valgrind 3.19 does not know the bpf(2) commands libbpf uses to load and attach (BPF_LINK_CREATE, BTF and feature
# probes: "unhandled eBPF command") and checks every bpf_attr union as one layout, so each load reports
# uninitialised bytes that the kernel never reads and marks what the kernel wrote back as undefined: the fpbpf
# tests that load the program run under ASan+UBSan (`make unit-san`) instead.
VALGRIND_SKIP_LIST := fpprobe/test_read_modes fpprobe/test_stopped_thread fpprobe/test_uninterruptible_thread \
	fpprobe/test_probe_thread fpprobe/test_traced_thread fpprobe/test_no_eintr fpprobe/test_spread \
	fpbpf/test_observe_modes fpbpf/test_per_process_cgroup fpbpf/test_watched_only fpbpf/test_map_full \
	fpbpf/test_bad_btf \
	fpbpf/test_verifier_reject fpbpf/test_all_per_process \
	respond/test_consider_freeze_kill respond/test_shared_cgroup_frozen_not_killed respond/test_process_targets
VALGRIND_SKIP := $(subst $(hw_space),$(hw_comma),$(strip $(VALGRIND_SKIP_LIST)))

check-valgrind: $(UNIT_BIN)
	RW_TALLY=$(RW_TALLY) RW_TEST_WRAP="$(VALGRIND)" RW_TEST_SKIP=$(VALGRIND_SKIP) sh tests/run-unit.sh $(BUILD)

# Install into a scratch DESTDIR and check the installed example config and its model and rules paths.
check-install: $(BIN)
	rm -rf $(BUILD)/installroot
	$(MAKE) install PREFIX=/usr DESTDIR=$(abspath $(BUILD))/installroot
	grep -q '^file = "/usr/share/rigwatch/models/rigwatch.model"' $(BUILD)/installroot/etc/rigwatch/rigwatch.conf
	# check-config loads the rules and model the file names: point it at the DESTDIR copies
	sed 's|"/usr/share/rigwatch/|"$(abspath $(BUILD))/installroot/usr/share/rigwatch/|' \
		$(BUILD)/installroot/etc/rigwatch/rigwatch.conf > $(BUILD)/installroot/check.conf
	$(BUILD)/installroot/usr/sbin/rigwatch check-config $(BUILD)/installroot/check.conf > /dev/null
	test -s $(BUILD)/installroot/usr/share/rigwatch/models/rigwatch.model
	test -s $(BUILD)/installroot/usr/share/rigwatch/models/indicators.rules
	test -s $(BUILD)/installroot/usr/lib/systemd/system/rigwatch.service
	test -s $(BUILD)/installroot/usr/share/man/man8/rigwatch.8
	@echo "check-install: ok"
	@[ -z "$(RW_TALLY)" ] || echo "install 1 0 0" >> "$(RW_TALLY)"

# The churn soak (tools/bench/churn.sh): 2,000 cgroups under a running agent at 0.2 s.
churn: $(BIN)
	@rc=0; sh tools/bench/churn.sh $(BUILD) 2000 50 || rc=$$?; \
	case $$rc in 0) r="1 0 0" ;; 77) r="0 0 1" ;; *) r="0 1 0" ;; esac; \
	[ -z "$(RW_TALLY)" ] || echo "churn $$r" >> "$(RW_TALLY)"; [ $$rc = 0 ] || [ $$rc = 77 ]

# The fleet (tests/integration/fleet.sh): eight agents in their own network and UTS namespaces, a real Prometheus
# and Alertmanager with the shipped rules and routes, the miner, kill and agent-down scenarios asserted at a webhook
# receiver, fleet figures printed. `make check` runs the short variant through the integration runner.
fleet: $(BIN) tools
	RW_FLEET_FULL=1 RW_BUILD=$(abspath $(BUILD)) RW_TOP=$(CURDIR) sh tests/integration/fleet.sh
