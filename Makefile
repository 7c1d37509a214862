# imgsandbox: plain make.
#   make            build the programs into build/
#   make run        install what is missing, build, start the service (PORT=, SERVER=nginx|apache)
#   make test       install what is missing, build, run every test, check nothing is left
#   make fuzz       run each libFuzzer target for FUZZ_SECONDS
#   make bench      the benchmarks (see docs/performance.md)
#   make install    the programs, the page, the runner's files, the settings file and the
#                   systemd units (PREFIX=/usr/local, DESTDIR=; see docs/install.md)
#   make deb        build/imgsandbox_<VERSION>_amd64.deb (debian/, dpkg-buildpackage, lintian)

CC       ?= cc
# libcurl: its headers only; shared/assistant/ai.c loads the library when the assistant
# is first used (dlopen), so that responders that never call a model stay small.
# libpq: the same, for the log in PostgreSQL (IMGSANDBOX_DB=postgresql://...):
# shared/store/pq_load.c loads it when such a log is first opened, as libpq brings
# OpenSSL, GnuTLS, Kerberos and LDAP into every process (5 MiB of RSS in each
# responder of a service logging to SQLite, which never uses them).
PKGS      = fcgi libcjson sqlite3 libmagic zlib libseccomp
PKG_CFLAGS_CURL := $(shell pkg-config --cflags libcurl 2>/dev/null)
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) libpq 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null || echo -lfcgi -lcjson -lsqlite3 -lmagic -lz -lseccomp)
WARN      = -Wall -Wextra -Werror -Wformat=2 -Wshadow -Wno-unused-parameter
HARDEN    = -D_FORTIFY_SOURCE=2 -fstack-protector-strong -fPIE
CFLAGS   ?= -O2 -g
ALL_CFLAGS = -std=gnu11 -Ishared $(WARN) $(HARDEN) $(CFLAGS) $(PKG_CFLAGS) $(PKG_CFLAGS_CURL)
LDFLAGS  += -pie -Wl,-z,relro,-z,now
LIBS      = $(PKG_LIBS) -lpthread -lm

SAN_CC    = clang
SAN_FLAGS = -std=gnu11 -Ishared -g -O1 -fsanitize=address,undefined -fno-omit-frame-pointer \
            -fno-sanitize-recover=undefined $(PKG_CFLAGS) -Wall -Wextra -Wno-unused-parameter
FUZZ_SECONDS ?= 60

B = build
NPROC := $(shell nproc 2>/dev/null || echo 2)
SHARED_SRC = $(wildcard shared/*/*.c)
WEB_SRC    = fcgi/http.c fcgi/logs_api.c
SHARED_OBJ = $(SHARED_SRC:%.c=$(B)/%.o)
WEB_OBJ    = $(WEB_SRC:%.c=$(B)/%.o)
UNIT_SRC   = $(wildcard tests/unit/test_*.c)
UNIT_BIN   = $(UNIT_SRC:tests/unit/%.c=$(B)/asan/%)
FUZZ_SRC   = $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_BIN   = $(FUZZ_SRC:tests/fuzz/%.c=$(B)/fuzz/%)
PROGRAMS   = $(B)/responder $(B)/supervise $(B)/sandboxd $(B)/analyze_logs $(B)/hello_fcgi \
             $(B)/seccomp_profile
RESPONDER_OBJ = $(patsubst %.c,$(B)/%.o,fcgi/responder.c fcgi/run.c fcgi/run_form.c \
             fcgi/run_answer.c fcgi/status_api.c fcgi/housekeeping.c fcgi/access.c \
             fcgi/metrics_api.c fcgi/assist_api.c fcgi/service.c)

.PHONY: all deps test-deps runner-image run test structure unit integration browser fuzz bench clean \
        install uninstall deb
all: $(PROGRAMS) $(B)/zygote_fork.so static/vendor/codemirror/codemirror.js

# CodeMirror from Debian's libjs-codemirror, served by our own server.
static/vendor/codemirror/codemirror.js: static/vendor.sh
	static/vendor.sh

$(B)/%.o: %.c $(wildcard shared/*/*.h fcgi/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c $< -o $@

$(B)/libshared.a: $(SHARED_OBJ)
	rm -f $@ && ar rcs $@ $^

$(B)/responder: $(RESPONDER_OBJ) $(WEB_OBJ) $(B)/libshared.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS)

# The broker: the one program that links the engines (shared/engine/).
$(B)/sandboxd: $(B)/fcgi/sandboxd.o $(B)/fcgi/sandboxd_pool.o $(B)/libshared.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS) $(ENGINE_LIBS)

$(B)/supervise: $(B)/fcgi/supervise.o $(B)/libshared.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS)

# The sandbox's seccomp profile, made from runner_image/seccomp.list.
$(B)/seccomp_profile: $(B)/fcgi/seccomp_profile.o $(B)/libshared.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS)

# The tool needs no web code: its reports and their table are in shared/.
$(B)/analyze_logs: $(B)/fcgi/analyze_logs.o $(B)/libshared.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS)

# The fork engine (shared/engine/fork*.c) builds its seccomp filter with
# libseccomp: only what links the engine (the broker, try_fork) needs it.
ENGINE_LIBS = -lseccomp

# The fork engine's template serves in C (runner_image/zygote_fork.c, and
# zygote_learn.c: the pages a box maps ahead): a shared object beside the
# broker's program, copied into the template's root.
ZYGOTE_SRC = runner_image/zygote_fork.c runner_image/zygote_learn.c
$(B)/zygote_fork.so: $(ZYGOTE_SRC) runner_image/zygote.h
	@mkdir -p $(dir $@)
	$(CC) -std=gnu11 $(WARN) -O2 -g -fPIC -shared -D_FORTIFY_SOURCE=2 -fstack-protector-strong \
	  -Wl,-z,relro,-z,now -o $@ $(ZYGOTE_SRC)

# try_fork drives the fork engine without the broker (tests/engine/, and
# tests/integration/test_fork_engine.py runs it).
$(B)/tests/engine/try_fork.o: tests/engine/try_fork_bench.c
$(B)/try_fork: $(B)/tests/engine/try_fork.o $(B)/libshared.a | $(B)/zygote_fork.so
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS) $(ENGINE_LIBS)

$(B)/hello_fcgi: $(B)/tests/bench/hello_fcgi.o
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS)

# The library again under ASan and UBSan (and fuzzer coverage, which costs
# nothing when not fuzzing), for the unit programs and the fuzz targets.
SAN_OBJ = $(SHARED_SRC:%.c=$(B)/asan/%.o) $(WEB_SRC:%.c=$(B)/asan/%.o)
$(B)/asan/%.o: %.c $(wildcard shared/*/*.h fcgi/*.h)
	@mkdir -p $(dir $@)
	$(SAN_CC) $(SAN_FLAGS) -fsanitize=fuzzer-no-link -c $< -o $@
$(B)/asan/libshared.a: $(SAN_OBJ)
	rm -f $@ && ar rcs $@ $^

# Unit programs: one per module.
$(B)/asan/%: tests/unit/%.c $(B)/asan/libshared.a tests/unit/unit.h
	@mkdir -p $(dir $@)
	$(SAN_CC) $(SAN_FLAGS) -o $@ $< $(B)/asan/libshared.a $(LIBS)

# The fork engine's unit program links libseccomp, as the engine does.
$(B)/asan/test_fork_engine: LIBS += $(ENGINE_LIBS)

$(B)/asan/make_log_fixture: tests/unit/make_log_fixture.c $(B)/asan/libshared.a
	@mkdir -p $(dir $@)
	$(SAN_CC) $(SAN_FLAGS) -o $@ $< $(B)/asan/libshared.a $(LIBS)

$(B)/asan/analyze_logs: fcgi/analyze_logs.c $(B)/asan/libshared.a
	@mkdir -p $(dir $@)
	$(SAN_CC) $(SAN_FLAGS) -o $@ $< $(B)/asan/libshared.a $(LIBS)

# The fixture maker of the CLI's tests, unsanitized, for the integration
# stage (tests/integration/test_pg_*.py fill PostgreSQL logs with it).
$(B)/make_log_fixture: $(B)/tests/unit/make_log_fixture.o $(B)/libshared.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS)

$(B)/bench_logdb: $(B)/tests/bench/bench_logdb.o $(B)/libshared.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS)

$(B)/fuzz/%: tests/fuzz/%.c $(B)/asan/libshared.a
	@mkdir -p $(dir $@)
	$(SAN_CC) $(SAN_FLAGS) -fsanitize=fuzzer -o $@ $< $(B)/asan/libshared.a $(LIBS)

deps:
	@fcgi/deps.sh
test-deps:
	@fcgi/deps.sh --test

runner-image: deps
	@fcgi/ensure_dockerd.sh
	@runner_image/build.sh --if-missing

run: deps
	@$(MAKE) --no-print-directory -j$(NPROC) all
	fcgi/serve.sh

# Unit programs under the sanitizers, and each fuzz corpus replayed once.
unit: test-deps
	@$(MAKE) --no-print-directory -j$(NPROC) $(UNIT_BIN) $(FUZZ_BIN) $(B)/asan/make_log_fixture \
	  $(B)/asan/analyze_logs
	@set -e; for t in $(UNIT_BIN); do echo "== $$t"; ASAN_OPTIONS=detect_leaks=1 $$t; done
	@tests/integration/test_cli.sh $(B)/asan/analyze_logs $(B)/asan/make_log_fixture
	@set -e; for f in $(FUZZ_BIN); do n=$${f##*/fuzz_}; echo "== $$f (corpus replay)"; \
	  $$f -runs=0 tests/fuzz/corpus/$$n >/dev/null 2>$(B)/fuzz/$$n.replay.log || \
	  { cat $(B)/fuzz/$$n.replay.log; exit 1; }; done

# Real servers, real dockerd, real SQLite and PostgreSQL: tests/integration
# (pytest). The store's programs run there again on a PostgreSQL server
# (test_pg_store.py), and the CLI's fixtures fill PostgreSQL logs.
PG_TEST_BIN = $(B)/asan/test_logdb $(B)/asan/test_logdb_retain $(B)/asan/logdb_faults_pg \
            $(B)/make_log_fixture
# The suite sizes itself to the machine: JOBS workers (nproc + 1: most of a
# test's time is spent waiting on the engine), tests sharing a service run
# together on one worker and the service stops after the last of them, at
# most 3 services a core are up at once, time limits derive from the
# engine's start time measured at the session's start (all in
# tests/integration/conftest.py and harness.py). Its session's tag names
# everything it makes; what it left is reaped at its end, and
# tests/leftovers.py then checks that nothing is left, pass or fail.
JOBS ?= $(shell echo $$(( $(NPROC) + 1 )))
# Short: every instance label of the session (t-<tag>-<pid>-<n>-<what>)
# must fit the 31 bytes of IMGSANDBOX_INSTANCE.
TEST_SESSION := $(shell printf '%06x%03x' $$(( $$(date +%s) % 16777216 )) $$(( $$$$ % 4096 )))
integration: test-deps runner-image
	@$(MAKE) --no-print-directory -j$(NPROC) all $(PG_TEST_BIN) $(B)/try_fork
	@fcgi/ensure_dockerd.sh
	@rc=0; IMGSANDBOX_TEST_SESSION=$(TEST_SESSION) /usr/bin/python3 -m pytest -q -n $(JOBS) \
	  tests/integration || rc=$$?; \
	  /usr/bin/python3 tests/leftovers.py --session $(TEST_SESSION) || rc=1; exit $$rc

# The structure's rules (tests/structure/check.py: no C function over 80
# lines, no file over 800, the layers of shared/ by folder, includes and
# names taken one way, every setting listed;
# tests/structure/docs_check.py: README.md and docs/ (links and anchors
# found, every page linked, README within 250 lines, the metrics, the
# sandbox's options, the hostile scripts, the tool's commands and the
# folders as the code has them); tests/browser/check_functions.mjs:
# the same lengths for the page's and the browser tests' JavaScript).
structure: test-deps
	@$(MAKE) --no-print-directory -j$(NPROC) all
	@/usr/bin/python3 tests/structure/check.py --objects $(B)
	@/usr/bin/python3 tests/structure/check.py --root tests/structure/bad | \
	  grep -c -e "is 89 lines" -e "higher layer" -e "include each other in a circle" \
	    -e "take names from each other in a circle" -e "is in no layer" \
	    -e "does not list the setting" | grep -qx 6 || \
	  { echo "structure: the checker missed a breach in tests/structure/bad"; exit 1; }
	@/usr/bin/python3 tests/structure/docs_check.py
	@/usr/bin/python3 tests/structure/docs_check.py --root tests/structure/bad_docs | \
	  grep -c -e "lines (at most 250)" -e "no such file" -e "no such heading" \
	    -e "outside the tree" -e "is not linked from README.md" -e "does not name the folder" \
	    -e "docs/development.md does not name" -e "does not list the metric" \
	    -e "the sandbox's table does not name" -e "the sandbox's table says" \
	    -e "must end as" -e "does not list the hostile script" \
	    -e "does not show the command" | grep -qx 13 || \
	  { echo "structure: the docs checker missed a breach in tests/structure/bad_docs"; exit 1; }
	@cd tests/browser && npm ci --no-audit --no-fund --loglevel=error >/dev/null && node check_functions.mjs

# One after the other: each suite uses both cores itself.
# Then nothing of the suites may be left: no container, process, mount or
# temporary folder that was not there before (tests/leftovers.py).
test:
	@mkdir -p $(B) && /usr/bin/python3 tests/leftovers.py --save-baseline $(B)/leftovers-before.json
	@$(MAKE) --no-print-directory structure
	@$(MAKE) --no-print-directory unit
	@$(MAKE) --no-print-directory integration
	@$(MAKE) --no-print-directory browser
	@/usr/bin/python3 tests/leftovers.py --baseline $(B)/leftovers-before.json
	@echo "make test: all suites passed"

# Headless Chromium (Debian's) driven by playwright-core, through both servers;
# screenshots of each step in build/artifacts/browser/.
browser: test-deps runner-image
	@$(MAKE) --no-print-directory -j$(NPROC) all
	@fcgi/ensure_dockerd.sh
	cd tests/browser && npm ci --no-audit --no-fund --loglevel=error && node run.mjs

fuzz: test-deps $(FUZZ_BIN)
	@set -e; for f in $(FUZZ_BIN); do n=$${f##*/fuzz_}; mkdir -p $(B)/fuzz/corpus-$$n; \
	  echo "== $$f for $(FUZZ_SECONDS) s"; \
	  $$f -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 $(B)/fuzz/corpus-$$n tests/fuzz/corpus/$$n; done

# Latency next to docker-direct and the chroot floor, throughput, API reads
# next to a hello-world responder, memory, and the log database at 1e6 rows;
# a markdown table on stdout and in build/bench/. About 10 minutes.
bench: test-deps runner-image
	@$(MAKE) --no-print-directory -j$(NPROC) all $(B)/bench_logdb $(B)/make_log_fixture
	@fcgi/ensure_dockerd.sh
	tests/bench/run.sh

clean:
	rm -rf $(B) static/vendor

# make install: a server's layout (docs/install.md). PREFIX/lib/imgsandbox
# the programs and the scripts the units run, PREFIX/share/imgsandbox the
# page (www) and the runner image's files (runner), PREFIX/bin the log's
# tool, SYSCONFDIR/imgsandbox/imgsandbox.conf the settings (every one
# commented out at its default, the install's paths set; an existing one
# is kept and the new one written beside it as .dist), UNITDIR the units.
# The data folder (STATEDIR) and the users are made at the first start
# (imgsandbox-setup.service), not here: DESTDIR stages a package's tree.
PREFIX     ?= /usr/local
SYSCONFDIR ?= /etc
UNITDIR    ?= $(PREFIX)/lib/systemd/system
STATEDIR   ?= /var/lib/imgsandbox
RUNTIMEDIR ?= /run/imgsandbox
LIBDIR      = $(PREFIX)/lib/imgsandbox
SHAREDIR    = $(PREFIX)/share/imgsandbox
CONF        = $(DESTDIR)$(SYSCONFDIR)/imgsandbox/imgsandbox.conf
UNITS       = imgsandbox-setup.service imgsandbox-broker.service imgsandbox-responders.service \
              imgsandbox-responders.socket imgsandbox-api.service imgsandbox-api.socket
install: all
	install -d $(DESTDIR)$(LIBDIR) $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(SHAREDIR)/runner \
	  $(DESTDIR)$(SHAREDIR)/doc $(DESTDIR)$(UNITDIR) $(DESTDIR)$(SYSCONFDIR)/imgsandbox
	install -m 0755 $(B)/responder $(B)/sandboxd $(B)/supervise $(B)/seccomp_profile \
	  $(B)/analyze_logs $(DESTDIR)$(LIBDIR)/
	install -m 0644 $(B)/zygote_fork.so $(DESTDIR)$(LIBDIR)/
	ln -sfn responder $(DESTDIR)$(LIBDIR)/imgsandbox-api
	ln -sfn ../lib/imgsandbox/analyze_logs $(DESTDIR)$(PREFIX)/bin/imgsandbox-analyze-logs
	install -m 0755 fcgi/prepare.sh fcgi/settings.sh fcgi/cgroup_parent.sh fcgi/engine_setup.sh \
	  $(DESTDIR)$(LIBDIR)/
	install -m 0755 runner_image/build.sh $(DESTDIR)$(SHAREDIR)/runner/
	install -m 0644 runner_image/Dockerfile runner_image/*.txt runner_image/*.py \
	  runner_image/*.list $(DESTDIR)$(SHAREDIR)/runner/
	rm -rf $(DESTDIR)$(SHAREDIR)/www && cp -R static $(DESTDIR)$(SHAREDIR)/www
	rm -f $(DESTDIR)$(SHAREDIR)/www/vendor.sh $(DESTDIR)$(SHAREDIR)/www/make_sample.py
	chmod -R u=rwX,go=rX $(DESTDIR)$(SHAREDIR)/www
	install -m 0644 docs/install.md docs/settings.md docs/security.md $(DESTDIR)$(SHAREDIR)/doc/
	@set -e; for u in $(UNITS); do \
	  sed -e 's|@LIBDIR@|$(LIBDIR)|g' -e 's|@SHAREDIR@|$(SHAREDIR)|g' -e 's|@STATEDIR@|$(STATEDIR)|g' \
	      -e 's|@RUNTIMEDIR@|$(RUNTIMEDIR)|g' fcgi/systemd/$$u.in >$(DESTDIR)$(UNITDIR)/$$u; \
	  chmod 0644 $(DESTDIR)$(UNITDIR)/$$u; done
	@env -i IMGSANDBOX_CONFIG_FILE= IMGSANDBOX_DATA=$(STATEDIR) \
	  IMGSANDBOX_SAMPLE=$(SHAREDIR)/www/sample.png IMGSANDBOX_PACKAGES=$(SHAREDIR)/runner/packages.txt \
	  IMGSANDBOX_ALLOWLIST=$(SHAREDIR)/runner/allowlist.txt \
	  IMGSANDBOX_SECCOMP_LIST=$(SHAREDIR)/runner/seccomp.list $(B)/responder --print-conf >$(CONF).dist
	@if [ -e $(CONF) ]; then echo "install: kept $(CONF); the new defaults are in $(CONF).dist"; \
	  else mv $(CONF).dist $(CONF); fi
	@echo "install: done; as root: systemctl daemon-reload && systemctl enable --now" \
	  "imgsandbox-responders.socket imgsandbox-api.socket imgsandbox-broker.service" \
	  "imgsandbox-responders.service imgsandbox-api.service (docs/install.md)"

uninstall:
	rm -rf $(DESTDIR)$(LIBDIR) $(DESTDIR)$(SHAREDIR) $(DESTDIR)$(PREFIX)/bin/imgsandbox-analyze-logs
	rm -f $(addprefix $(DESTDIR)$(UNITDIR)/,$(UNITS))
	@echo "uninstall: kept $(CONF) and $(STATEDIR) (the settings and the data)"

# make deb: the Debian package, built by dpkg-buildpackage (debhelper's dh)
# from a clean copy of the tree in build/deb/, checked by lintian (an error
# fails); the .deb lands in build/. Its version is the file VERSION's;
# DEB_VERSION=x builds another (a changelog entry written into the copy).
deb:
	@DEB_VERSION=$(DEB_VERSION) NPROC=$(NPROC) debian/make_deb.sh
