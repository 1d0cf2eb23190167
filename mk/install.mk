# mk/install.mk — `make install` (included from the Makefile).
#
#   make install                              PREFIX=/usr/local
#   make install PREFIX=/usr DESTDIR=/tmp/pkg staged (packages, Dockerfile)
#   make install INSTALL_BIN=build/asan/rankpulse   another binary
#
# Installs the binary, the systemd units (+ sysusers/tmpfiles snippets and an
# nginx.service drop-in), the nginx templates and renderer, the static files,
# rankpulse-backup / rankpulse-restore and the docs; see scripts/install.sh
# for the layout.  Starts, enables and creates nothing else.
# Guarded, so `make -f Makefile -f mk/install.mk install` also works when the
# Makefile already includes it.
ifndef RP_INSTALL_MK
RP_INSTALL_MK := 1

PREFIX          ?= /usr/local
DESTDIR         ?=
SYSCONFDIR      ?= /etc
SYSTEMD_UNITDIR ?= $(PREFIX)/lib/systemd/system
INSTALL_BIN     ?= build/rankpulse

.PHONY: install
install: $(INSTALL_BIN)
	DESTDIR='$(DESTDIR)' PREFIX='$(PREFIX)' SYSCONFDIR='$(SYSCONFDIR)' \
	SYSTEMD_UNITDIR='$(SYSTEMD_UNITDIR)' RANKPULSE_BIN='$(INSTALL_BIN)' \
	sh scripts/install.sh

endif
