# edgespam - top-level build.
#
#   make            build every program, test and tool (build/)
#   make check      install missing packages, build, run every test
#   make run        install what building and running need, build, start
#                   the milter (never installs test packages)
#   make deb        build the Debian package build/deb/edgespam_VER_ARCH.deb
#   make bench      accuracy and speed benchmarks (writes build/bench/)
#   make install    PREFIX=/usr/local DESTDIR=
#   make deps       apt-get install the Debian packages that are missing
#                   (all of them; deps-run and deps-deb install fewer)
#   make fmt        clang-format every source file
#   make golden     regenerate tokenizer golden files (review the diff)
#
# CC=clang works as well as gcc. Libraries: classifier/, storage/ and
# conf/ build as static libraries; cli/ and milter/ link them.

CC      ?= cc
PREFIX  ?= /usr/local
DESTDIR ?=
BUILD   ?= build
SANITIZE ?=
# The one place the version is written: the programs' --version, the man
# pages as installed and the Debian package all take it from conf/VERSION.
VERSION := $(shell cat conf/VERSION)

# Debian packages: PKGS_BUILD builds the programs, PKGS_RUN runs them
# (make run also creates the edgespam user with adduser), PKGS_DEB builds
# and checks the Debian package, PKGS_TEST is what make check needs on top.
PKGS_BUILD = build-essential pkg-config libmilter-dev \
	default-libmysqlclient-dev libbsd-dev libsqlite3-dev \
	libmicrohttpd-dev libgnutls28-dev
PKGS_RUN   = adduser libmilter1.0.1 libmariadb3 libbsd0 libsqlite3-0 \
	libmicrohttpd12 libgnutls30
PKGS_DEB   = debhelper dpkg-dev fakeroot lintian systemd
PKGS_TEST  = libcmocka-dev clang libclang-rt-14-dev bogofilter sqlite3 \
	postfix maildrop swaks miltertest mariadb-server mariadb-client galera-4 rsync \
	systemd-container spamd spamc sasl2-bin libsasl2-modules \
	chromium python3-websocket curl $(PKGS_DEB)

WARN    = -Wall -Wextra -Werror -Wshadow -Wpointer-arith -Wstrict-prototypes \
	-Wmissing-prototypes -Wformat=2 -Wno-unused-parameter
BSD_CFLAGS := $(shell pkg-config --cflags libbsd-overlay 2>/dev/null)
BSD_LIBS   := $(shell pkg-config --libs libbsd-overlay 2>/dev/null)
SQLITE_LIBS := $(shell pkg-config --libs sqlite3 2>/dev/null || echo -lsqlite3)
CMOCKA_LIBS := $(shell pkg-config --libs cmocka 2>/dev/null || echo -lcmocka)
MYSQL_CFLAGS := $(shell pkg-config --cflags libmariadb 2>/dev/null || echo -I/usr/include/mariadb)
MYSQL_LIBS := $(shell pkg-config --libs libmariadb 2>/dev/null || echo -lmariadb)
MILTER_LIBS = -lmilter -lpthread
WEB_LIBS := $(shell pkg-config --libs libmicrohttpd gnutls 2>/dev/null || \
	echo -lmicrohttpd -lgnutls)

OPT     ?= -O2 -g
CFLAGS  ?= $(OPT)
# CPPFLAGS and LDFLAGS are empty here; a package build passes Debian's
# hardening flags in them (dpkg-buildflags)
ALL_CFLAGS = -std=c11 -D_GNU_SOURCE $(WARN) $(CPPFLAGS) $(CFLAGS) $(SANITIZE) \
	-Iclassifier -Istorage -Iconf -Imilter -I$(BUILD)/gen $(BSD_CFLAGS) \
	$(MYSQL_CFLAGS)
LDLIBS_ALL = $(SQLITE_LIBS) $(MYSQL_LIBS) $(BSD_LIBS) -lm -lpthread
# Dependencies run one way: classifier/ (pure code, and the store
# interface it needs, store.h) includes only itself; storage/ implements
# that interface and sees classifier/ and itself; conf/, cli/ and milter/
# sit above both. Each folder compiles with only the include paths it may
# use, so an include the wrong way fails the build.
BASE_CFLAGS = -std=c11 -D_GNU_SOURCE $(WARN) $(CPPFLAGS) $(CFLAGS) $(SANITIZE)

CLS_SRC   := $(sort $(wildcard classifier/*.c))
STORE_SRC := $(sort $(wildcard storage/*.c))
CONF_SRC  := $(sort $(wildcard conf/*.c))
CLI_SRC   := $(sort $(wildcard cli/*.c))
MILTER_SRC := $(sort $(wildcard milter/*.c))
MILTER_LIB_SRC := $(filter-out milter/main.c,$(MILTER_SRC))
WEB_SRC   := $(sort $(wildcard cli/web/*.c))
WEB_LIB_SRC := $(filter-out cli/web/web_main.c,$(WEB_SRC))
UNIT_SRC  := $(sort $(wildcard tests/unit/test_*.c))
TOOL_SRC  := $(sort $(wildcard tests/tools/*.c))
TOOL_LIB_SRC := $(sort $(wildcard tests/tools/lib/*.c))
# miltc, the milter protocol test client, is one program from its folder
MILTC_SRC := $(sort $(wildcard tests/tools/miltc/*.c))
# the store contract suite is one cmocka program from its folder
SC_SRC    := $(sort $(wildcard tests/unit/store_contract/*.c))
FUZZ_SRC  := $(sort $(wildcard tests/fuzz/fuzz_*.c))

obj = $(patsubst %.c,$(BUILD)/obj/%.o,$(1))
LIBS = $(BUILD)/libclassifier.a $(BUILD)/libstorage.a $(BUILD)/libconf.a \
	$(BUILD)/libmilter-es.a
LINK_LIBS = -Wl,--start-group $(LIBS) -Wl,--end-group

PROGRAMS = $(if $(CLI_SRC),$(BUILD)/edgespam) $(if $(MILTER_SRC),$(BUILD)/edgespam-milter) \
	$(if $(WEB_SRC),$(BUILD)/edgespam-web)
UNIT_BINS = $(sort $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(UNIT_SRC)) \
	$(if $(SC_SRC),$(BUILD)/tests/test_store_contract))
TOOL_BINS = $(patsubst tests/tools/%.c,$(BUILD)/tools/%,$(TOOL_SRC)) \
	$(if $(MILTC_SRC),$(BUILD)/tools/miltc)
# each sql/DRIVER/schema.sql is compiled into its driver
GEN = $(patsubst sql/%/schema.sql,$(BUILD)/gen/sql_%_schema.h,\
	$(wildcard sql/*/schema.sql))

# keep objects of test programs between runs
.SECONDARY:

.PHONY: all deps deps-run deps-deb check unit run deb bench install fmt \
	golden clean programs tests tools
all: $(PROGRAMS) tests tools
programs: $(PROGRAMS)
tests: $(UNIT_BINS)
tools: $(TOOL_BINS)

$(BUILD)/obj/%.o: %.c $(GEN)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -MMD -MP -c -o $@ $<
$(call obj,$(CLS_SRC)): ALL_CFLAGS = $(BASE_CFLAGS) -Iclassifier $(BSD_CFLAGS)
$(call obj,$(STORE_SRC)): ALL_CFLAGS = $(BASE_CFLAGS) -Iclassifier -Istorage \
	-I$(BUILD)/gen $(BSD_CFLAGS) $(MYSQL_CFLAGS)

# A schema is compiled into its driver as one C string per line.
$(BUILD)/gen/sql_%_schema.h: sql/%/schema.sql
	@mkdir -p $(dir $@)
	sed -e 's/\\/\\\\/g' -e 's/"/\\"/g' -e 's/^/"/' -e 's/$$/\\n"/' $< > $@.tmp
	mv $@.tmp $@

$(BUILD)/libclassifier.a: $(call obj,$(CLS_SRC))
	rm -f $@ && ar rcs $@ $^
$(BUILD)/libstorage.a: $(call obj,$(STORE_SRC))
	rm -f $@ && ar rcs $@ $^
$(BUILD)/libconf.a: $(call obj,$(CONF_SRC))
	rm -f $@ && ar rcs $@ $^
# the milter's parts without its main(), for unit tests
$(BUILD)/libmilter-es.a: $(call obj,$(MILTER_LIB_SRC))
	rm -f $@ && ar rcs $@ $^
# edgespam-web's parts without its main(), for its program and unit tests
$(BUILD)/libweb-es.a: $(call obj,$(WEB_LIB_SRC))
	rm -f $@ && ar rcs $@ $^
$(call obj,$(WEB_SRC) $(wildcard tests/unit/test_web*.c)): ALL_CFLAGS += -Icli/web

# the two programs print the version (--version)
VERSION_OBJS = $(call obj,milter/main.c cli/cli_main.c cli/web/web_main.c)
$(VERSION_OBJS): ALL_CFLAGS += -DVERSION='"$(VERSION)"'
$(VERSION_OBJS): conf/VERSION

$(BUILD)/edgespam: $(call obj,$(CLI_SRC)) $(LIBS)
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $(call obj,$(CLI_SRC)) $(LINK_LIBS) $(LDLIBS_ALL)
$(BUILD)/edgespam-milter: $(call obj,milter/main.c) $(LIBS)
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $(call obj,milter/main.c) $(LINK_LIBS) $(MILTER_LIBS) $(LDLIBS_ALL)

$(BUILD)/edgespam-web: $(call obj,cli/web/web_main.c) $(BUILD)/libweb-es.a $(LIBS)
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $(call obj,cli/web/web_main.c) $(BUILD)/libweb-es.a $(LINK_LIBS) $(WEB_LIBS) $(LDLIBS_ALL)

# the web view's unit tests link its library
$(BUILD)/tests/test_web%: $(BUILD)/obj/tests/unit/test_web%.o $(BUILD)/libweb-es.a $(LIBS)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -o $@ $< $(BUILD)/libweb-es.a $(LINK_LIBS) $(CMOCKA_LIBS) $(WEB_LIBS) $(LDLIBS_ALL)
$(BUILD)/tests/%: $(BUILD)/obj/tests/unit/%.o $(LIBS)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -o $@ $< $(LINK_LIBS) $(CMOCKA_LIBS) $(LDLIBS_ALL)
# the daily counts' suite shares the contract suite's fixture
$(BUILD)/tests/test_store_daily: $(BUILD)/obj/tests/unit/test_store_daily.o $(call obj,tests/unit/store_contract/fixture.c) $(LIBS)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -o $@ $< $(call obj,tests/unit/store_contract/fixture.c) $(LINK_LIBS) $(CMOCKA_LIBS) $(LDLIBS_ALL)
$(BUILD)/tests/test_store_contract: $(call obj,$(SC_SRC)) $(LIBS)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -o $@ $(call obj,$(SC_SRC)) $(LINK_LIBS) $(CMOCKA_LIBS) $(LDLIBS_ALL)
# the Maildir scanner of maildir-retrain is the CLI's, tested on its own
MAILDIR_OBJS = $(call obj,cli/cli_maildir_scan.c cli/cli_maildir_state.c)
$(BUILD)/obj/tests/unit/test_maildir.o: ALL_CFLAGS += -Icli
$(BUILD)/tests/test_maildir: $(BUILD)/obj/tests/unit/test_maildir.o $(MAILDIR_OBJS) $(LIBS)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -o $@ $< $(MAILDIR_OBJS) $(LINK_LIBS) $(CMOCKA_LIBS) $(LDLIBS_ALL)
$(BUILD)/tools/%: $(BUILD)/obj/tests/tools/%.o $(call obj,$(TOOL_LIB_SRC)) $(LIBS)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -o $@ $< $(call obj,$(TOOL_LIB_SRC)) $(LINK_LIBS) $(LDLIBS_ALL)
$(BUILD)/tools/miltc: $(call obj,$(MILTC_SRC)) $(LIBS)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -o $@ $(call obj,$(MILTC_SRC)) $(LINK_LIBS) $(LDLIBS_ALL)

# deps: install only what is missing; nothing to do when all is there.
deps:
	@sh tests/tools/deps.sh $(PKGS_BUILD) $(PKGS_RUN) $(PKGS_TEST)
deps-run:
	@sh tests/tools/deps.sh $(PKGS_BUILD) $(PKGS_RUN)
deps-deb:
	@sh tests/tools/deps.sh $(PKGS_BUILD) $(PKGS_DEB)

# unit: run every cmocka suite of this build.
unit: $(UNIT_BINS) $(TOOL_BINS)
	@sh tests/tools/run-unit.sh $(BUILD) $(UNIT_BINS)

check: deps
	$(MAKE) all
	$(MAKE) unit
	$(MAKE) BUILD=build-asan CC=clang OPT="-O1 -g -fno-omit-frame-pointer" \
		SANITIZE="-fsanitize=address,undefined -fno-sanitize-recover=all" unit
	$(MAKE) CC=clang BUILD=build-clang all
	sh tests/run-all.sh

run: deps-run
	$(MAKE) programs
	BUILD=$(BUILD) sh tests/tools/run-milter.sh

bench: deps all
	sh tests/bench/run.sh

install: programs
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/sbin \
		$(DESTDIR)$(PREFIX)/share/man/man1 $(DESTDIR)$(PREFIX)/share/man/man8 \
		$(DESTDIR)$(PREFIX)/share/edgespam $(DESTDIR)/etc/edgespam
	install -m 0755 $(BUILD)/edgespam $(DESTDIR)$(PREFIX)/bin/edgespam
	if [ -f $(BUILD)/edgespam-milter ]; then install -m 0755 $(BUILD)/edgespam-milter $(DESTDIR)$(PREFIX)/sbin/; fi
	if [ -f $(BUILD)/edgespam-web ]; then install -m 0755 $(BUILD)/edgespam-web $(DESTDIR)$(PREFIX)/sbin/; fi
	for m in cli/*.1 milter/*.8 cli/web/*.8; do \
		[ -f "$$m" ] || continue; \
		d=$(DESTDIR)$(PREFIX)/share/man/man$${m##*.}; \
		sed 's/"edgespam [0-9][^"]*"/"edgespam $(VERSION)"/' "$$m" > "$$d/$${m##*/}"; \
		chmod 0644 "$$d/$${m##*/}"; \
	done
	cp -R sql $(DESTDIR)$(PREFIX)/share/edgespam/
	install -m 0644 conf/maildroprc $(DESTDIR)$(PREFIX)/share/edgespam/maildroprc
	if [ ! -f $(DESTDIR)/etc/edgespam/edgespam.conf ]; then \
		install -m 0644 conf/edgespam.conf $(DESTDIR)/etc/edgespam/edgespam.conf; fi

# deb: the Debian package, built by debhelper from conf/debian in a copy
# of the tree under $(BUILD)/deb (the source tree never gets a debian/).
# A package newer than every source file is reused.
DEB_ARCH := $(shell dpkg --print-architecture 2>/dev/null)
DEB_DIR   = $(BUILD)/deb
DEB_STAGE = $(DEB_DIR)/edgespam-$(VERSION)
DEB       = $(DEB_DIR)/edgespam_$(VERSION)_$(DEB_ARCH).deb
DEB_TREE  = Makefile README.md classifier cli conf milter sql storage
deb: deps-deb
	$(MAKE) $(DEB)
$(DEB): $(shell find $(DEB_TREE) -type f 2>/dev/null)
	rm -rf $(DEB_DIR)
	mkdir -p $(DEB_STAGE)
	cp -R $(DEB_TREE) $(DEB_STAGE)/
	cp -R conf/debian $(DEB_STAGE)/debian
	sed -i 's/@VERSION@/$(VERSION)/' $(DEB_STAGE)/debian/changelog
	cd $(DEB_STAGE) && dpkg-buildpackage -us -uc -b
	@test -f $@ && echo "make deb: $@"

fmt:
	clang-format -i $(CLS_SRC) $(STORE_SRC) $(CONF_SRC) $(CLI_SRC) $(MILTER_SRC) \
		$(WEB_SRC) $(wildcard classifier/*.h storage/*.h conf/*.h cli/*.h \
		milter/*.h cli/web/*.h)

golden: $(BUILD)/tools/tokdump
	sh tests/tools/golden.sh $(BUILD)/tools/tokdump regen

clean:
	rm -rf build build-asan build-clang build-fuzz

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)
