# rigwatch — plain Makefile (Redis 2.x style). `make` builds, `make run` starts the agent on its embedded
# defaults, `make check` runs every test (also under ASan+UBSan). Both install missing Debian packages first.

CC       ?= cc
BUILD    ?= build
SANITIZE ?=
PREFIX   ?= /usr/local
DESTDIR  ?=
VERSION  := 0.1.0

WARN     := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wformat=2 -Wno-format-nonliteral
CFLAGS   ?= -O2 -g
CPPFLAGS += -std=c11 -D_GNU_SOURCE -Iinclude -I$(BUILD)/gen -DRW_VERSION=\"$(VERSION)\"
LDLIBS   := -lpfm -lcgroup -lmicrohttpd -lprotobuf-c -lz -lpthread
ifeq ($(SANITIZE),1)
CFLAGS   += -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
LDFLAGS  += -fsanitize=address,undefined
endif

PROTOS   := $(wildcard proto/*.proto)
GEN_C    := $(patsubst proto/%.proto,$(BUILD)/gen/%.pb-c.c,$(PROTOS))
GEN_H    := $(GEN_C:.c=.h)
LIB_SRC  := $(filter-out src/main.c,$(wildcard src/*.c))
LIB_OBJ  := $(patsubst src/%.c,$(BUILD)/obj/%.o,$(LIB_SRC)) $(patsubst $(BUILD)/gen/%.c,$(BUILD)/obj/gen/%.o,$(GEN_C))
LIB      := $(BUILD)/librigwatch.a
BIN      := $(BUILD)/rigwatch
UNIT_SRC := $(wildcard tests/unit/test_*.c)
UNIT_BIN := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(UNIT_SRC))
TOOL_DIRS:= $(filter-out tools/bench,$(wildcard tools/*))
BENCH_SRC:= $(wildcard tools/bench/*.c)
BENCH_BIN:= $(patsubst tools/bench/%.c,$(BUILD)/bench/%,$(BENCH_SRC))

.PHONY: all deps run check unit unit-san integration tools bench clean install
.SECONDARY: $(GEN_C) $(GEN_H)

all: $(BIN) $(UNIT_BIN) tools $(BENCH_BIN)

deps:
	@sh scripts/install-deps.sh

$(BUILD)/gen/%.pb-c.c $(BUILD)/gen/%.pb-c.h: proto/%.proto
	@mkdir -p $(BUILD)/gen
	protoc-c --c_out=$(BUILD)/gen -Iproto $<

$(BUILD)/obj/gen/%.o: $(BUILD)/gen/%.c $(GEN_H)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -w -c -o $@ $<

$(BUILD)/obj/%.o: src/%.c $(wildcard include/rigwatch/*.h) $(GEN_H)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(WARN) -c -o $@ $<

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

run: deps $(BIN)
	./$(BIN) run

unit: $(UNIT_BIN)
	@sh tests/run-unit.sh $(BUILD)

unit-san:
	$(MAKE) BUILD=build-san SANITIZE=1 CFLAGS="-O1 -g" unit

integration: $(BIN) tools
	@sh tests/run-integration.sh $(BUILD)

check: deps
	$(MAKE) all
	$(MAKE) unit
	$(MAKE) unit-san
	$(MAKE) integration

install: $(BIN)
	install -D -m 0755 $(BIN) $(DESTDIR)$(PREFIX)/sbin/rigwatch
	install -d $(DESTDIR)$(PREFIX)/share/rigwatch/models
	install -m 0644 models/* $(DESTDIR)$(PREFIX)/share/rigwatch/models/ 2>/dev/null || true

clean:
	rm -rf build build-san
