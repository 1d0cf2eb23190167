# Love Rank Pulse — plain Makefile + pkg-config.
#
#   make            release build: build/rankpulse
#   make run        deps + build + embedded local stack on 127.0.0.1:$(PORT)
#   make test       deps + sanitizer build + throwaway stack + prove -r t/
#   make lint       cppcheck          make format   clang-format -i
#   make bench      benchmarks (bench/*.sh)

PORT     ?= 8080
PREFIX   ?= /usr/local
DESTDIR  ?=
CC       ?= cc
PKGS      = libpq hiredis json-c libsodium fcgi
GIT_REV  := $(shell git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)

WARN      = -Wall -Wextra -Werror -Wshadow -Wformat=2 -Wstrict-prototypes -Wmissing-prototypes \
            -Wno-missing-field-initializers
CPPFLAGS += -Ilib -I. -Ibuild/gen -D_POSIX_C_SOURCE=200809L \
            $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
CFLAGS   ?= -O2 -g
CFLAGS   += -std=c11 $(WARN) -fstack-protector-strong -D_FORTIFY_SOURCE=2
LDLIBS   += $(shell pkg-config --libs $(PKGS) 2>/dev/null || echo -lpq -lhiredis -ljson-c -lsodium -lfcgi) -lm

SAN_FLAGS = -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined

LIB_SRC   = $(sort $(wildcard lib/*/*.c))
FCGI_SRC  = $(sort $(wildcard fcgi/*.c))
GEN_SRC   = build/gen/migrations.c
UNIT_SRC  = $(sort $(wildcard t/unit/*.c))
MIGRATIONS = $(sort $(wildcard migrations/*.sql))

REL_OBJ   = $(patsubst %.c,build/obj/%.o,$(LIB_SRC) $(FCGI_SRC)) build/obj/gen/migrations.o
SAN_LIB   = $(patsubst %.c,build/asan/obj/%.o,$(LIB_SRC)) build/asan/obj/gen/migrations.o
SAN_OBJ   = $(SAN_LIB) $(patsubst %.c,build/asan/obj/%.o,$(FCGI_SRC))
UNIT_BIN  = $(patsubst t/unit/%.c,build/asan/t/unit/%,$(UNIT_SRC))

.PHONY: all asan unit deps run test lint format bench clean FORCE
all: build/rankpulse

build/gen/migrations.c: $(MIGRATIONS) scripts/embed-migrations.sh
	@mkdir -p $(@D)
	sh scripts/embed-migrations.sh $(MIGRATIONS) > $@.tmp && mv $@.tmp $@

# the commit in `rankpulse --version`: rewritten only when HEAD moved, so an
# incremental build recompiles main.c exactly then
build/gen/git_rev.h: FORCE
	@mkdir -p $(@D)
	@echo '#define RP_GIT_REV "$(GIT_REV)"' > $@.tmp
	@if cmp -s $@.tmp $@; then rm -f $@.tmp; else mv $@.tmp $@; fi
build/obj/fcgi/main.o build/asan/obj/fcgi/main.o: build/gen/git_rev.h
FORCE:

build/obj/gen/%.o: build/gen/%.c
	@mkdir -p $(@D)
	@echo "  CC  $<"; $(CC) $(CPPFLAGS) $(CFLAGS) -MMD -MP -c $< -o $@
build/obj/%.o: %.c
	@mkdir -p $(@D)
	@echo "  CC  $<"; $(CC) $(CPPFLAGS) $(CFLAGS) -MMD -MP -c $< -o $@
build/rankpulse: $(REL_OBJ)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS)

build/asan/obj/gen/%.o: build/gen/%.c
	@mkdir -p $(@D)
	@echo "  CC  $<"; $(CC) $(CPPFLAGS) -std=c11 $(WARN) $(SAN_FLAGS) -MMD -MP -c $< -o $@
build/asan/obj/%.o: %.c
	@mkdir -p $(@D)
	@echo "  CC  $<"; $(CC) $(CPPFLAGS) -std=c11 $(WARN) $(SAN_FLAGS) -MMD -MP -c $< -o $@
build/asan/rankpulse: $(SAN_OBJ)
	$(CC) $(SAN_FLAGS) -o $@ $^ $(LDLIBS)
build/asan/t/unit/%: t/unit/%.c $(SAN_LIB)
	@mkdir -p $(@D)
	@echo "  CC  $<"; $(CC) $(CPPFLAGS) -It/unit -std=c11 $(WARN) -Wno-missing-prototypes $(SAN_FLAGS) -o $@ $< $(SAN_LIB) $(LDLIBS)

asan: build/asan/rankpulse $(UNIT_BIN)
unit: $(UNIT_BIN)

deps:
	@sh scripts/deps.sh

run: deps
	@$(MAKE) --no-print-directory all
	PORT=$(PORT) RANKPULSE_BIN=build/rankpulse scripts/stack.sh run --port $(PORT)

test: deps
	@$(MAKE) --no-print-directory all asan
	scripts/test.sh

lint:
	cppcheck --quiet --error-exitcode=1 --std=c11 --enable=warning,performance,portability \
	  --inline-suppr --suppress=missingIncludeSystem -Ilib -Ibuild/gen lib fcgi

format:
	clang-format -i $(LIB_SRC) $(FCGI_SRC) $(wildcard lib/*/*.h fcgi/*.h) $(UNIT_SRC)

bench: all
	bench/health.sh
	bench/auth.sh
	bench/leaderboard.sh
	bench/realtime.sh

clean:
	rm -rf build

include mk/install.mk

-include $(shell find build -name '*.d' 2>/dev/null)
