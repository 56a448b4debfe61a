# xlchannel: `make` builds, `make check` runs every test, `make install` installs (the
# library, its headers and pkg-config file, the `xlchannel` command, and for guests the
# `xlchannel-guest` helper with its udev rule; man pages).
# Both `check` and `demo` install what they need first (see `deps`).

CARGO      ?= cargo
CC         ?= gcc
PREFIX     ?= /usr/local
LIBDIR     ?= $(PREFIX)/lib
BINDIR     ?= $(PREFIX)/bin
INCLUDEDIR ?= $(PREFIX)/include
SBINDIR    ?= $(PREFIX)/sbin
MANDIR     ?= $(PREFIX)/share/man
XLCHANNEL_DATADIR ?= $(PREFIX)/share/xlchannel
# The guest's udev rule. systemd's udev reads /usr/lib/udev/rules.d and
# /usr/local/lib/udev/rules.d (and /etc/udev/rules.d, the admin's); an older udev only the
# first and /etc: then set UDEVRULESDIR=/etc/udev/rules.d.
UDEVRULESDIR ?= $(PREFIX)/lib/udev/rules.d
DESTDIR    ?=

VERSION := $(shell sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n1)
MAJOR   := $(firstword $(subst ., ,$(VERSION)))
RELEASE := target/release
LIB     := $(RELEASE)/libxlchannel.so
HEADER  := include/libxl_channel.h
EMBED_HEADER := include/libxl_channel_embed.h
BUILD   := c-tests/build

# Debian packages the build and the tests use (the real Xen 4.17 userspace comes from
# testbed/fetch-xen.sh).
PACKAGES := gcc g++ libc6-dev make pkg-config libclang-dev valgrind libxen-dev libyajl-dev \
	xenstore-utils qemu-system-x86 python3 python3-pytest python3-pip ocaml ocaml-findlib ocaml-dune \
	groff-base
# Debian's interpreter, which python3-pytest belongs to (python3 on PATH may be another one).
PYTHON3 := /usr/bin/python3

CFLAGS_TEST := -std=gnu11 -Wall -Wextra -Werror -g -O1
SANITIZE    := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
WITH_XENSTORED := testbed/with-xenstored.sh
VALGRIND := valgrind -q --error-exitcode=9 --leak-check=full --errors-for-leak-kinds=definite

.PHONY: all build deps demo check check-header check-msrv check-doc fuzz fuzz-smoke check-rust \
	check-c check-python check-ocaml check-ocaml-install header libxl embedded check-libxl install \
	uninstall clean bench bench-programs check-bench-smoke

all: build

# Programs linked against the build tree find the library by its soname.
SONAME_LINK = ln -sf libxlchannel.so $(RELEASE)/libxlchannel.so.$(MAJOR)

build:
	$(CARGO) build --release
	$(SONAME_LINK)

deps:
	@testbed/install-packages.sh $(PACKAGES)
	@testbed/fetch-xen.sh
	@$(CARGO) fetch --locked --quiet
	@cd fuzz && $(CARGO) fetch --quiet

# build.rs generates the headers into its OUT_DIR; `make header` copies them into include/,
# and the check fails while a committed copy differs from a fresh one.
# (build.rs rewrites them on every run: the newest copy is from the latest sources).
GENERATED_HEADERS = $(dir $(shell ls -t $(RELEASE)/build/xlchannel-*/out/include/libxl_channel.h 2>/dev/null | head -n1))

header: build
	cp $(GENERATED_HEADERS)/libxl_channel.h $(GENERATED_HEADERS)/libxl_channel_embed.h include/

check-header: deps
	$(CARGO) build --release --locked
	@$(SONAME_LINK)
	@fresh=$$(dirname $$(ls -t $(RELEASE)/build/xlchannel-*/out/include/libxl_channel.h | head -n1)); \
	for h in $(HEADER) $(EMBED_HEADER); do \
	    if ! cmp -s $$h $$fresh/$${h#include/}; then \
	        echo "$$h is stale: run 'make header' and commit it"; \
	        diff -u $$h $$fresh/$${h#include/} | head -40; exit 1; fi; done
	@echo "headers: 2 passed, 0 failed"

# rust-version is the newest of the locked dependencies' and the language features' minimums.
check-msrv: deps
	$(PYTHON3) tools/msrv.py

# The API documentation builds without a warning.
check-doc: check-header
	RUSTDOCFLAGS=-Dwarnings $(CARGO) doc --no-deps --locked
	@echo "doc: 1 passed, 0 failed"

check-rust: check-header check-msrv check-doc
	$(CARGO) fmt --check
	$(CARGO) clippy --release --locked --all-targets -- -D warnings
	$(WITH_XENSTORED) $(CARGO) test --release --locked

$(BUILD)/test_api: c-tests/test_api.c c-tests/check.h c-tests/capture_logger.h $(HEADER) $(LIB)
	@mkdir -p $(BUILD)
	$(CC) $(CFLAGS_TEST) $(SANITIZE) -Iinclude $< -o $@ -L$(RELEASE) -lxlchannel -Wl,-rpath,$(CURDIR)/$(RELEASE)

$(BUILD)/test_name_index: c-tests/test_name_index.c c-tests/check.h c-tests/capture_logger.h c-tests/xs_helpers.h $(HEADER) $(EMBED_HEADER) $(LIB)
	@mkdir -p $(BUILD)
	$(CC) $(CFLAGS_TEST) $(SANITIZE) -Iinclude $< -o $@ -L$(RELEASE) -lxlchannel -lxenstore -lxentoollog -Wl,-rpath,$(CURDIR)/$(RELEASE)

$(BUILD)/test_xenstore: c-tests/test_xenstore.c c-tests/check.h c-tests/capture_logger.h c-tests/xs_helpers.h $(HEADER) $(EMBED_HEADER) $(LIB)
	@mkdir -p $(BUILD)
	$(CC) $(CFLAGS_TEST) $(SANITIZE) -Iinclude $< -o $@ -L$(RELEASE) -lxlchannel -lxenstore -lxentoollog -Wl,-rpath,$(CURDIR)/$(RELEASE)

$(BUILD)/test_xl_config: c-tests/test_xl_config.c c-tests/check.h c-tests/capture_logger.h c-tests/xs_helpers.h $(HEADER) $(EMBED_HEADER) $(LIB)
	@mkdir -p $(BUILD)
	$(CC) $(CFLAGS_TEST) $(SANITIZE) -Iinclude $< -o $@ -L$(RELEASE) -lxlchannel -lxenstore -lxentoollog -Wl,-rpath,$(CURDIR)/$(RELEASE)

$(BUILD)/test_devicemodel: c-tests/test_devicemodel.c c-tests/check.h c-tests/capture_logger.h c-tests/xs_helpers.h c-tests/qemu_helpers.h $(HEADER) $(EMBED_HEADER) $(LIB)
	@mkdir -p $(BUILD)
	$(CC) $(CFLAGS_TEST) $(SANITIZE) -Iinclude $< -o $@ -L$(RELEASE) -lxlchannel -lxenstore -lxentoollog -Wl,-rpath,$(CURDIR)/$(RELEASE)

$(BUILD)/test_guest: c-tests/test_guest.c c-tests/check.h c-tests/capture_logger.h c-tests/xs_helpers.h $(HEADER) $(LIB)
	@mkdir -p $(BUILD)
	$(CC) $(CFLAGS_TEST) $(SANITIZE) -Iinclude $< -o $@ -L$(RELEASE) -lxlchannel -lxenstore -lxentoollog -Wl,-rpath,$(CURDIR)/$(RELEASE)

$(BUILD)/test_socket_path: c-tests/test_socket_path.c c-tests/check.h c-tests/capture_logger.h c-tests/xs_helpers.h $(HEADER) $(LIB)
	@mkdir -p $(BUILD)
	$(CC) $(CFLAGS_TEST) $(SANITIZE) -Iinclude $< -o $@ -L$(RELEASE) -lxlchannel -lxenstore -lxentoollog -Wl,-rpath,$(CURDIR)/$(RELEASE)

$(BUILD)/test_hotplug: c-tests/test_hotplug.c c-tests/check.h c-tests/capture_logger.h c-tests/xs_helpers.h c-tests/qemu_helpers.h $(HEADER) $(EMBED_HEADER) $(LIB)
	@mkdir -p $(BUILD)
	$(CC) $(CFLAGS_TEST) $(SANITIZE) -Iinclude $< -o $@ -L$(RELEASE) -lxlchannel -lxenstore -lxentoollog -Wl,-rpath,$(CURDIR)/$(RELEASE)

# Real <libxl.h> only: both libraries are dlopen'ed by the program (no real libxl context, so
# no preload shim).
$(BUILD)/test_devicemodel_config: c-tests/test_devicemodel_config.c c-tests/check.h c-tests/capture_logger.h
	@mkdir -p $(BUILD)
	$(CC) $(CFLAGS_TEST) $(SANITIZE) $< -o $@ -ldl -lxenstore -lxentoollog

$(BUILD)/test_xenstored_gone: c-tests/test_xenstored_gone.c c-tests/check.h c-tests/capture_logger.h c-tests/xs_helpers.h $(HEADER) $(LIB)
	@mkdir -p $(BUILD)
	$(CC) $(CFLAGS_TEST) $(SANITIZE) -Iinclude $< -o $@ -L$(RELEASE) -lxlchannel -lxenstore -lxentoollog -Wl,-rpath,$(CURDIR)/$(RELEASE)

# One context shared by 8 threads (libxl_ctx is thread-safe).
$(BUILD)/test_threads: c-tests/test_threads.c c-tests/check.h c-tests/xs_helpers.h $(HEADER) $(LIB)
	@mkdir -p $(BUILD)
	$(CC) $(CFLAGS_TEST) $(SANITIZE) -pthread -Iinclude $< -o $@ -L$(RELEASE) -lxlchannel -lxenstore -lxentoollog -Wl,-rpath,$(CURDIR)/$(RELEASE)

# -iquote: only "libxl_channel.h" comes from include/, <libxl.h> is always Debian's.
$(BUILD)/abi_layout: $(wildcard c-tests/abi/*) $(HEADER)
	@mkdir -p $(BUILD)
	$(CC) $(CFLAGS_TEST) $(SANITIZE) -iquote include $(wildcard c-tests/abi/*.c) -o $@

# The comparison programs, each built against real libxenlight and against xlchannel.
$(BUILD)/%_real: c-tests/compare/%.c c-tests/compare/print.h
	@mkdir -p $(BUILD)
	$(CC) $(CFLAGS_TEST) -DREAL_LIBXL $< -o $@ -lxenlight -lxentoollog

$(BUILD)/%_ours: c-tests/compare/%.c c-tests/compare/print.h $(HEADER) $(LIB)
	@mkdir -p $(BUILD)
	$(CC) $(CFLAGS_TEST) -Iinclude $< -o $@ -L$(RELEASE) -lxlchannel -lxentoollog -Wl,-rpath,$(CURDIR)/$(RELEASE)

$(BUILD)/channels_setup: c-tests/compare/channels_setup.c c-tests/xs_helpers.h $(HEADER) $(EMBED_HEADER) $(LIB)
	@mkdir -p $(BUILD)
	$(CC) $(CFLAGS_TEST) -Iinclude $< -o $@ -L$(RELEASE) -lxlchannel -lxenstore -lxentoollog -Wl,-rpath,$(CURDIR)/$(RELEASE)

$(BUILD)/cross_ownership: c-tests/cross/cross_ownership.c c-tests/check.h
	@mkdir -p $(BUILD)
	$(CC) $(CFLAGS_TEST) $< -o $@ -ldl -lxentoollog

# Build against an installed copy through pkg-config, as a C toolstack would.
check-install: build embedded
	rm -rf $(BUILD)/stage
	$(MAKE) --no-print-directory install DESTDIR=$(CURDIR)/$(BUILD)/stage PREFIX=/usr LIBDIR=/usr/lib
	PKG_CONFIG_PATH=$(BUILD)/stage/usr/lib/pkgconfig PKG_CONFIG_SYSROOT_DIR=$(CURDIR)/$(BUILD)/stage \
	    sh -c '$(CC) $(CFLAGS_TEST) c-tests/pkgconfig_client.c -o $(BUILD)/pkgconfig_client $$(pkg-config --cflags --libs xlchannel) -Wl,-rpath,$(CURDIR)/$(BUILD)/stage/usr/lib'
	$(WITH_XENSTORED) --no-preload $(BUILD)/pkgconfig_client
	$(BUILD)/stage/usr/bin/xlchannel --help >/dev/null
	$(BUILD)/stage/usr/sbin/xlchannel-guest --version >/dev/null
	@# The kit libxl/patches/0002 expects by default.
	cmp $(EMBEDDED_LIB) $(BUILD)/stage/usr/lib/libxlchannel-libxl.a
	test -f $(BUILD)/stage/usr/share/xlchannel/libxl-glue/libxl_channel_glue.c
	test -x $(BUILD)/stage/usr/share/xlchannel/libxl-patches/delegate-channels.py
	@# The whole series is shipped (0003 gives xl channel-attach and channel-detach).
	cmp libxl/patches/series $(BUILD)/stage/usr/share/xlchannel/libxl-patches/series
	for p in $$(cat libxl/patches/series); do \
	    cmp libxl/patches/$$p $(BUILD)/stage/usr/share/xlchannel/libxl-patches/$$p || exit 1; done
	grep -q 'RUN+="/usr/sbin/xlchannel-guest add $$devpath --syslog"' $(BUILD)/stage/usr/lib/udev/rules.d/90-xlchannel.rules
	@for m in $(BUILD)/stage/usr/share/man/man1/xlchannel.1 $(BUILD)/stage/usr/share/man/man8/xlchannel-guest.8; do \
	    out=$$(LC_ALL=C.UTF-8 groff -man -ww -z -Tutf8 $$m 2>&1); \
	    if [ -n "$$out" ]; then echo "$$m: $$out"; exit 1; fi; done
	$(MAKE) --no-print-directory uninstall DESTDIR=$(CURDIR)/$(BUILD)/stage PREFIX=/usr LIBDIR=/usr/lib
	@left=$$(find $(BUILD)/stage -type f -o -type l); \
	    if [ -n "$$left" ]; then echo "uninstall left: $$left"; exit 1; fi

# ASan must come first in a process, so programs that do not load real libxenlight run
# without the test bed's preload library.
C_TESTS := test_api test_xenstore test_xenstored_gone abi_layout behaviour_real behaviour_ours \
	channels_setup channels_read_real channels_read_ours cross_ownership test_devicemodel \
	test_devicemodel_config test_xl_config test_guest test_socket_path test_threads test_hotplug \
	test_name_index

check-c: check-header $(addprefix $(BUILD)/,$(C_TESTS))
	$(WITH_XENSTORED) --no-preload $(BUILD)/test_api
	$(WITH_XENSTORED) --no-preload $(BUILD)/test_xenstore
	$(WITH_XENSTORED) --no-preload $(BUILD)/test_name_index
	$(WITH_XENSTORED) --no-preload $(BUILD)/test_xl_config
	$(WITH_XENSTORED) --no-preload $(BUILD)/test_threads
	$(WITH_XENSTORED) --no-preload $(BUILD)/test_devicemodel
	$(WITH_XENSTORED) --no-preload $(BUILD)/test_guest $(CURDIR)/$(RELEASE)/xlchannel-guest
	$(WITH_XENSTORED) --no-preload $(BUILD)/test_socket_path
	$(WITH_XENSTORED) --no-preload $(BUILD)/test_hotplug
	$(WITH_XENSTORED) --no-preload $(BUILD)/test_devicemodel_config $(CURDIR)/$(LIB)
	# The transactions' other way, taken where the daemon has no socket (the kernel's
	# device): every request through libxenstore, one answer at a time.
	XLCHANNEL_XS_PIPELINE=0 $(WITH_XENSTORED) --no-preload $(BUILD)/test_xenstore
	XLCHANNEL_XS_PIPELINE=0 $(WITH_XENSTORED) --no-preload $(BUILD)/test_name_index
	XLCHANNEL_XS_PIPELINE=0 $(WITH_XENSTORED) --no-preload $(BUILD)/test_threads
	c-tests/xenstored_gone.sh $(BUILD)/test_xenstored_gone
	$(BUILD)/abi_layout
	$(WITH_XENSTORED) c-tests/compare/compare.sh compare-json $(BUILD)/behaviour_real $(BUILD)/behaviour_ours
	$(WITH_XENSTORED) sh -c '$(BUILD)/channels_setup && c-tests/compare/compare.sh compare-channels $(BUILD)/channels_read_real $(BUILD)/channels_read_ours' 
	$(WITH_XENSTORED) $(VALGRIND) $(BUILD)/cross_ownership $(CURDIR)/$(LIB)
	$(MAKE) --no-print-directory check-install

# Debian's libxenlight 4.17 rebuilt from its source package with every channel function
# delegated to xlchannel (libxl/): target/libxl/lib/libxenlight.so.4.17.0.
libxl: deps embedded
	libxl/build.sh

# The static library libxenlight links (feature `embedded`: no libxl_ctx of its own).
EMBEDDED_LIB := target/embedded/release/libxlchannel.a
embedded:
	$(CARGO) rustc --quiet --release --locked --lib --features embedded --crate-type staticlib \
	    --target-dir target/embedded

# libxl's convention for a test that needs libxl's insides: the inside half is built into
# libxenlight_test.so (by make libxl), the outside half links against it.
$(BUILD)/test_libxl_channels: libxl/tests/test_libxl_channels.c libxl/tests/libxl_test_channels.h \
		c-tests/check.h c-tests/xs_helpers.h c-tests/capture_logger.h c-tests/qemu_helpers.h $(EMBED_HEADER) libxl
	@mkdir -p $(BUILD)
	$(CC) $(CFLAGS_TEST) -Ilibxl/tests -Ic-tests -iquote include $< -o $@ -Ltarget/libxl/lib -l:libxenlight_test.so \
	    -lxentoollog -lxenstore

# The embedded build's proofs (libxl/tests/check-embedded.sh): ABI, Debian's xl on it, Xen's
# IDL test, the case tables on both libraries, the inside-libxl test.
check-libxl: check-header libxl $(BUILD)/behaviour_real $(BUILD)/channels_read_real \
		$(BUILD)/channels_setup $(BUILD)/test_libxl_channels
	$(WITH_XENSTORED) libxl/tests/check-embedded.sh

# The cloud-agent story of examples/demo.sh: the xlchannel command, the real xenstored and xl
# of the test bed, a real qemu serving the channels, a dom0 agent talking through one.
demo: deps
	@mkdir -p target
	@echo "make demo: building xlchannel and the embedded libxenlight (log: target/demo-build.log)"
	@$(MAKE) --no-print-directory build libxl >target/demo-build.log 2>&1 || \
	    { tail -n 20 target/demo-build.log; exit 1; }
	@$(WITH_XENSTORED) examples/demo.sh

# The OCaml bindings: built against target/release, tested against the real xenstored under
# valgrind.
check-ocaml: check-header
	$(WITH_XENSTORED) --no-preload bindings/ocaml/check.sh
	$(WITH_XENSTORED) --no-preload bindings/readme-examples.sh ocaml
	$(MAKE) --no-print-directory check-ocaml-install

# The OCaml bindings built through pkg-config against a staged `make install` (not the build
# tree), their example run against it.
check-ocaml-install: build
	rm -rf $(BUILD)/ocaml-stage $(BUILD)/ocaml-build
	$(MAKE) --no-print-directory install DESTDIR=$(CURDIR)/$(BUILD)/ocaml-stage PREFIX=/usr LIBDIR=/usr/lib
	PKG_CONFIG_PATH=$(CURDIR)/$(BUILD)/ocaml-stage/usr/lib/pkgconfig PKG_CONFIG_SYSROOT_DIR=$(CURDIR)/$(BUILD)/ocaml-stage \
	    XLCHANNEL_USE_PKG_CONFIG=1 dune build --root bindings/ocaml --build-dir $(CURDIR)/$(BUILD)/ocaml-build ./example/channels.exe
	$(WITH_XENSTORED) --no-preload sh -c 'ldd $(BUILD)/ocaml-build/default/example/channels.exe | grep -q "$(CURDIR)/$(BUILD)/ocaml-stage/usr/lib/libxlchannel.so.$(MAJOR)" && \
	    XLCHANNEL_OCAML_EXAMPLE=$(CURDIR)/$(BUILD)/ocaml-build/default/example/channels.exe bindings/readme-examples.sh ocaml'

# The Python bindings (ctypes), tested against the real xenstored.
check-python: check-header
	$(WITH_XENSTORED) --no-preload $(PYTHON3) -m pytest bindings/python/tests -q
	$(WITH_XENSTORED) --no-preload bindings/readme-examples.sh python

# Coverage-guided fuzzing (libFuzzer through libfuzzer-sys, stable toolchain; see fuzz/run.sh).
# `make fuzz` runs FUZZ_RUNS executions per target (default 10^6), or FUZZ_SECONDS seconds
# each when set; `fuzz-smoke` (part of `make check`) replays the committed inputs and fuzzes
# FUZZ_SMOKE_SECONDS (default 3) per target.
fuzz: deps
	fuzz/run.sh full

fuzz-smoke: deps
	fuzz/run.sh smoke

# make bench (not part of make check): xenstore requests, paired times and memory against
# Debian's libxenlight and xl over one real xenstored holding a busy host's store
# (bench/bench.py); the table goes to target/bench/. check-bench-smoke runs it briefly.
BENCH_BIN := target/bench/bin
BENCH_CFLAGS := -std=gnu11 -O2 -Wall -Wextra -Werror
bench-programs: build
	@mkdir -p $(BENCH_BIN)
	$(CC) $(BENCH_CFLAGS) -DREAL_LIBXL bench/listinfo.c -o $(BENCH_BIN)/bench_listinfo_real -lxenlight -lxentoollog -lxenstore
	$(CC) $(BENCH_CFLAGS) -Iinclude bench/listinfo.c -o $(BENCH_BIN)/bench_listinfo_ours -L$(RELEASE) -lxlchannel -lxentoollog -lxenstore -Wl,-rpath,$(CURDIR)/$(RELEASE)
	$(CC) $(BENCH_CFLAGS) -Iinclude bench/adds.c -o $(BENCH_BIN)/bench_adds -L$(RELEASE) -lxlchannel -lxentoollog -lxenstore -Wl,-rpath,$(CURDIR)/$(RELEASE)
	$(CC) $(BENCH_CFLAGS) bench/populate.c -o $(BENCH_BIN)/bench_populate -lxenstore
	$(CC) $(BENCH_CFLAGS) bench/measure.c -o $(BENCH_BIN)/bench_measure

bench: deps bench-programs libxl
	bench/run.sh $(BENCH_BIN)

check-bench-smoke: check-header bench-programs libxl
	bench/run.sh $(BENCH_BIN) --quick

check: check-rust check-c check-libxl check-python check-ocaml fuzz-smoke check-bench-smoke
	@echo "make check: all runners passed"

install: build embedded
	install -d $(DESTDIR)$(LIBDIR)/pkgconfig $(DESTDIR)$(INCLUDEDIR) $(DESTDIR)$(BINDIR)
	install -m 0755 $(RELEASE)/xlchannel $(DESTDIR)$(BINDIR)/
	install -m 0755 $(LIB) $(DESTDIR)$(LIBDIR)/libxlchannel.so.$(VERSION)
	ln -sf libxlchannel.so.$(VERSION) $(DESTDIR)$(LIBDIR)/libxlchannel.so.$(MAJOR)
	ln -sf libxlchannel.so.$(MAJOR) $(DESTDIR)$(LIBDIR)/libxlchannel.so
	install -m 0644 $(RELEASE)/libxlchannel.a $(DESTDIR)$(LIBDIR)/
	install -m 0644 $(HEADER) $(EMBED_HEADER) $(DESTDIR)$(INCLUDEDIR)/
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@LIBDIR@|$(LIBDIR)|' -e 's|@INCLUDEDIR@|$(INCLUDEDIR)|' \
	    -e 's|@VERSION@|$(VERSION)|' xlchannel.pc.in > $(DESTDIR)$(LIBDIR)/pkgconfig/xlchannel.pc
	install -d $(DESTDIR)$(SBINDIR) $(DESTDIR)$(UDEVRULESDIR) $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man8
	install -m 0755 $(RELEASE)/xlchannel-guest $(DESTDIR)$(SBINDIR)/
	sed -e 's|@SBINDIR@|$(SBINDIR)|g' udev/90-xlchannel.rules.in > $(DESTDIR)$(UDEVRULESDIR)/90-xlchannel.rules
	install -m 0644 man/xlchannel.1 $(DESTDIR)$(MANDIR)/man1/
	install -m 0644 man/xlchannel-guest.8 $(DESTDIR)$(MANDIR)/man8/
	@# The kit a distribution builds its libxenlight with (libxl/patches' defaults).
	install -m 0644 $(EMBEDDED_LIB) $(DESTDIR)$(LIBDIR)/libxlchannel-libxl.a
	install -d $(DESTDIR)$(XLCHANNEL_DATADIR)/libxl-glue $(DESTDIR)$(XLCHANNEL_DATADIR)/libxl-patches
	install -m 0644 libxl/glue/libxl_channel_glue.c libxl/glue/libxl_channel_glue.h \
	    libxl/tests/libxl_test_channels.c libxl/tests/libxl_test_channels.h \
	    $(DESTDIR)$(XLCHANNEL_DATADIR)/libxl-glue/
	install -m 0644 libxl/patches/series libxl/patches/*.patch $(DESTDIR)$(XLCHANNEL_DATADIR)/libxl-patches/
	install -m 0755 libxl/delegate-channels.py $(DESTDIR)$(XLCHANNEL_DATADIR)/libxl-patches/

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/xlchannel
	rm -f $(DESTDIR)$(LIBDIR)/libxlchannel.so* $(DESTDIR)$(LIBDIR)/libxlchannel.a \
	    $(DESTDIR)$(INCLUDEDIR)/libxl_channel.h $(DESTDIR)$(INCLUDEDIR)/libxl_channel_embed.h \
	    $(DESTDIR)$(LIBDIR)/pkgconfig/xlchannel.pc
	rm -f $(DESTDIR)$(LIBDIR)/libxlchannel-libxl.a
	rm -rf $(DESTDIR)$(XLCHANNEL_DATADIR)
	rm -f $(DESTDIR)$(SBINDIR)/xlchannel-guest $(DESTDIR)$(UDEVRULESDIR)/90-xlchannel.rules \
	    $(DESTDIR)$(MANDIR)/man1/xlchannel.1 $(DESTDIR)$(MANDIR)/man8/xlchannel-guest.8

clean:
	$(CARGO) clean
	rm -rf $(BUILD) bindings/ocaml/_build target/libxl target/embedded
