#!/usr/bin/env bash
# Install the Debian packages the integration and browser tests need (test/services):
# Chromium, Dovecot IMAP, knot DNS and its kdig client, OpenLDAP slapd + client tools,
# gnome-keyring with a D-Bus session bus, OpenSSL and libsecret's secret-tool.
#
#   bash scripts/install-system-deps.sh      (npm run services:deps)
#
# All present: says so, exits 0. Missing and root: apt-get installs them. Missing and not
# root: prints the exact `sudo apt-get install ...` line and exits 1.
#
# The tests never use the system instances of these daemons: each suite starts its own on
# 127.0.0.1 with a port chosen at run time and its data in a temp dir. Installing a server
# package does not start it on these machines (no systemd); if one does get started, the
# tests do not depend on it.
set -euo pipefail

# "command-or-path package" pairs. Paths are checked as files; names via PATH + sbin dirs.
checks=(
  "/usr/bin/chromium chromium"
  "dovecot dovecot-imapd"
  "/usr/lib/dovecot/imap dovecot-imapd"
  "knotd knot"
  "knotc knot"
  "kdig knot-dnsutils"
  "slapd slapd"
  "/usr/lib/ldap/back_mdb.so slapd"
  "ldapadd ldap-utils"
  "gnome-keyring-daemon gnome-keyring"
  "dbus-daemon dbus-x11"
  "dbus-run-session dbus-x11"
  "dbus-send dbus-x11"
  "dbus-launch dbus-x11"
  "openssl openssl"
  "secret-tool libsecret-tools"
)

have() {
  local what=$1
  if [[ $what == /* ]]; then
    [[ -e $what ]]
  else
    PATH="$PATH:/usr/local/sbin:/usr/sbin:/sbin" command -v "$what" >/dev/null 2>&1
  fi
}

missing_pkgs=()
missing_what=()
for entry in "${checks[@]}"; do
  what=${entry% *}
  pkg=${entry##* }
  if ! have "$what"; then
    missing_what+=("$what")
    case " ${missing_pkgs[*]-} " in
      *" $pkg "*) ;;
      *) missing_pkgs+=("$pkg") ;;
    esac
  fi
done

if [[ ${#missing_pkgs[@]} -eq 0 ]]; then
  echo "install-system-deps: all test system dependencies are present."
  exit 0
fi

echo "install-system-deps: missing: ${missing_what[*]}"
echo "install-system-deps: Debian packages to install: ${missing_pkgs[*]}"

if [[ $(id -u) -ne 0 ]]; then
  echo "install-system-deps: not running as root; install them with:" >&2
  echo "sudo apt-get install -y ${missing_pkgs[*]}"
  exit 1
fi

export DEBIAN_FRONTEND=noninteractive
# Keep maintainer scripts from starting the daemons (invoke-rc.d honours policy-rc.d exit 101),
# so the install leaves no system slapd/dovecot/knot running. An existing policy is kept.
policy=/usr/sbin/policy-rc.d
if [[ ! -e $policy ]]; then
  printf '#!/bin/sh\n# temporary, from sealpost scripts/install-system-deps.sh\nexit 101\n' >"$policy"
  chmod 755 "$policy"
  trap 'rm -f "$policy"' EXIT
fi
# slapd: install the binaries only, no system database (the tests bring their own config).
echo "slapd slapd/no_configuration boolean true" | debconf-set-selections
apt-get update
# With recommends: the set this suite was verified with on a new machine (chromium headless
# has been run only with its recommended packages installed).
apt-get install -y "${missing_pkgs[@]}"

still_missing=()
for entry in "${checks[@]}"; do
  what=${entry% *}
  have "$what" || still_missing+=("$what")
done
if [[ ${#still_missing[@]} -ne 0 ]]; then
  echo "install-system-deps: still missing after install: ${still_missing[*]}" >&2
  exit 1
fi
echo "install-system-deps: installed ${missing_pkgs[*]}; all test system dependencies are present."
