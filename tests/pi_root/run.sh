#!/usr/bin/env bash
# firmware_config/install.sh on the Pi's OS: an arm64 Debian Bookworm root (what Raspberry
# Pi OS Lite is built on) made with debootstrap and run under qemu-user-static through
# binfmt_misc. Inside it: install.sh for real (apt, user and groups, venv with the `pi`
# extra from aarch64 wheels, udev rules, unit, config.txt edits on a copy of a stock
# /boot/firmware), install.sh a second time (must change nothing), then
# `kiosk check-config` and `kiosk doctor` as the kiosk user.
#
#   sudo make pi-root       (about 14 min the first time, 4 to 7 after, on 2 busy cores)
#
# The bare root is cached as a tarball under .cache/pi-root/ (git-ignored), with apt's
# and pip's downloads, so a rerun skips debootstrap. Each run unpacks a fresh copy.
# Where binfmt_misc cannot be had (not root, no binfmt_misc in the kernel) it says why in
# one line and exits 0.
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
HERE=$REPO/tests/pi_root
CACHE=${PI_ROOT_CACHE:-$REPO/.cache/pi-root}
# The mirror this machine's apt uses; debootstrap reaches it the same way.
MIRROR=${PI_ROOT_MIRROR:-http://deb.debian.org/debian}
SUITE=bookworm
BASE=$CACHE/$SUITE-arm64-base.tar
ROOT=$CACHE/root
CHECKOUT=/home/pi/loyalty-kiosk
# What Raspberry Pi OS Lite has and a minbase root lacks, among what install.sh relies on.
INCLUDE=python3,systemd,udev,sudo,ca-certificates
TOOLS=(debootstrap qemu-user-static binfmt-support)

started=$SECONDS
stage() { printf 'pi-root: %-52s (%ds)\n' "$*" $((SECONDS - started)); }
skip() { echo "pi-root: skipped: $*"; exit 0; }

# --- can this machine run arm64 binaries? ------------------------------------------------
[[ $EUID -eq 0 ]] || skip "needs root (debootstrap, chroot and binfmt_misc registration): sudo make pi-root"
[[ $(uname -m) == x86_64 || $(uname -m) == aarch64 ]] || skip "host $(uname -m) is neither x86_64 nor aarch64"
missing=()
command -v debootstrap >/dev/null || missing+=(debootstrap)
command -v qemu-aarch64-static >/dev/null || missing+=(qemu-user-static)
command -v update-binfmts >/dev/null || missing+=(binfmt-support)
if ((${#missing[@]})); then
    command -v apt-get >/dev/null || skip "install ${missing[*]} (Debian packages ${TOOLS[*]})"
    stage "installing ${missing[*]}"
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${TOOLS[@]}"; } >/dev/null \
        || skip "apt-get could not install ${TOOLS[*]}"
fi
BINFMT=/proc/sys/fs/binfmt_misc
if [[ $(uname -m) != aarch64 ]]; then
    [[ -e $BINFMT/register ]] || mount -t binfmt_misc binfmt_misc "$BINFMT" 2>/dev/null \
        || skip "binfmt_misc cannot be mounted at $BINFMT (kernel without it, or a container without the right)"
    [[ -e $BINFMT/qemu-aarch64 ]] || update-binfmts --enable qemu-aarch64 >/dev/null 2>&1 || true
    [[ -e $BINFMT/qemu-aarch64 ]] || skip "qemu-aarch64 cannot be registered in binfmt_misc (update-binfmts --enable qemu-aarch64 failed)"
    # F: the kernel holds the interpreter open, so it need not exist inside the root.
    grep -q '^flags:.*F' "$BINFMT/qemu-aarch64" \
        || skip "qemu-aarch64 is registered without the F flag: reinstall qemu-user-static"
fi

# --- one run at a time per cache ----------------------------------------------------------
mkdir -p "$CACHE"
exec 9>"$CACHE/.lock"
flock -n 9 || { echo "pi-root: another run is using $CACHE (wait for it, or set PI_ROOT_CACHE)" >&2; exit 1; }

# --- mounts: undone on every exit, checked before anything is deleted ---------------------
mounted=()
bind() {  # bind DIR-ON-HOST PATH-IN-ROOT
    mkdir -p "$ROOT$2"
    mount --bind "$1" "$ROOT$2"
    mounted=("$ROOT$2" "${mounted[@]}")
}
unmount_all() {
    local point
    for point in "${mounted[@]}"; do umount -l "$point" 2>/dev/null || true; done
    mounted=()
}
trap unmount_all EXIT
trap 'exit 130' INT TERM
still_mounted_under() { awk -v p="$1/" 'index($2 "/", p) == 1 { found = 1 } END { exit !found }' /proc/mounts; }
remove_root() {
    [[ -e $ROOT ]] || return 0
    if still_mounted_under "$ROOT"; then
        echo "pi-root: something is still mounted under $ROOT: unmount it first (findmnt -R $ROOT)" >&2
        exit 1
    fi
    rm -rf --one-file-system "$ROOT"
}

# --- the bare root, made once -------------------------------------------------------------
mkdir -p "$CACHE/apt-archives/partial" "$CACHE/pip"
if [[ ! -f $BASE ]]; then
    stage "debootstrap $SUITE arm64 from $MIRROR"
    build=$CACHE/debootstrap
    rm -rf --one-file-system "$build"
    debootstrap --arch=arm64 --variant=minbase --include="$INCLUDE" \
        --cache-dir="$CACHE/apt-archives" "$SUITE" "$build" "$MIRROR" >"$CACHE/debootstrap.log" 2>&1 \
        || { tail -20 "$CACHE/debootstrap.log"; echo "pi-root: debootstrap failed (log: $CACHE/debootstrap.log)" >&2; exit 1; }
    tar -C "$build" -cf "$BASE.part" . && mv "$BASE.part" "$BASE"
    rm -rf --one-file-system "$build"
fi

# --- this run's root: a fresh copy, with the Pi's boot partition and this checkout ---------
stage "unpacking a fresh root"
remove_root
mkdir -p "$ROOT"
tar -C "$ROOT" -xf "$BASE"
install -D -m 0644 "$HERE/boot-firmware/config.txt" "$ROOT/boot/firmware/config.txt"
install -D -m 0644 "$HERE/boot-firmware/cmdline.txt" "$ROOT/boot/firmware/cmdline.txt"
cp -L /etc/resolv.conf "$ROOT/etc/resolv.conf"
# This machine's name, as a Pi's image lists its own (sudo looks it up).
printf '127.0.0.1\tlocalhost\n127.0.1.1\t%s\n' "$(uname -n)" >"$ROOT/etc/hosts"
# The CAs this machine trusts, in case it adds its own to Debian's (a TLS-inspecting
# proxy's): the root reaches PyPI through the same network. (update-ca-certificates would
# take minutes under qemu.)
cp /etc/ssl/certs/ca-certificates.crt "$ROOT/etc/ssl/certs/ca-certificates.crt"
mkdir -p "$ROOT$CHECKOUT"
if git -C "$REPO" rev-parse --git-dir >/dev/null 2>&1; then
    # What a clone has: tracked files plus new ones not ignored (so uncommitted work is tested).
    (cd "$REPO" && git ls-files -z --cached --others --exclude-standard \
        | tar --null --ignore-failed-read -T - -cf - 2>/dev/null) | tar -C "$ROOT$CHECKOUT" -xf -
else
    tar -C "$REPO" --exclude=./.cache --exclude=./.venv --exclude=./.git -cf - . | tar -C "$ROOT$CHECKOUT" -xf -
fi
bind /proc /proc
bind /dev /dev
bind /dev/pts /dev/pts
bind "$CACHE/apt-archives" /var/cache/apt/archives
bind "$CACHE/pip" /root/.cache/pip
inside() { chroot "$ROOT" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 "$@"; }

stage "apt-get update inside the root"
inside apt-get update -qq >/dev/null

# --- install.sh, as the README says, twice -----------------------------------------------
LOG=$CACHE/install.log
stage "install.sh (apt, user, venv + .[pi], udev, unit, boot)"
inside bash "$CHECKOUT/firmware_config/install.sh" >"$LOG" 2>&1 \
    || { tail -30 "$LOG"; echo "pi-root: install.sh failed (log: $LOG)" >&2; exit 1; }
stage "install.sh again"
inside bash "$CHECKOUT/firmware_config/install.sh" >"$LOG.2" 2>&1 \
    || { tail -30 "$LOG.2"; echo "pi-root: the second install.sh failed (log: $LOG.2)" >&2; exit 1; }

stage "checks inside the root"
PASSED=0
FAILED=0
expect() {  # expect WHAT COMMAND...: one line per check
    local what=$1
    shift
    if "$@" >/dev/null 2>&1; then
        PASSED=$((PASSED + 1)); echo "  ok    $what"
    else
        FAILED=$((FAILED + 1)); echo "  FAIL  $what"
    fi
}
has() { grep -qE -- "$1" "$2"; }
has_text() { grep -qF -- "$1" "$2"; }
lacks() { ! grep -qE -- "$1" "$2"; }
VENV=/opt/kiosk/venv
OUT=$CACHE/checks
mkdir -p "$OUT"

expect "install.sh reported its changes and a reboot" has "change\(s\) made" "$LOG"
# (printf %q shows the brackets escaped)
expect "install.sh installed the kiosk with the pi extra" \
    has_text "running:   $VENV/bin/pip install --quiet $CHECKOUT\[pi\]" "$LOG"
expect "a second install.sh changes nothing" has "^Nothing changed" "$LOG.2"
expect "the venv runs on aarch64" inside "$VENV/bin/python" -c \
    "import platform, sys; sys.exit(platform.machine() != 'aarch64')"
inside "$VENV/bin/pip" list --format=freeze >"$OUT/pip-list" 2>/dev/null || true
expect "lgpio (gpiozero's pin factory) is installed" has "^lgpio==" "$OUT/pip-list"
expect "rpi-lgpio provides RPi.GPIO" has "^rpi-lgpio==" "$OUT/pip-list"
expect "legacy RPi.GPIO is not installed" lacks "^RPi.GPIO==" "$OUT/pip-list"
expect "smbus2 and spidev are there" inside "$VENV/bin/python" -c "import smbus2, spidev"
# The server's libraries belong in the `central` extra; while pyproject still lists them
# among the base dependencies, the kiosk gets them too.
server_in_base=$(python3 -c "import sys, tomllib; deps = tomllib.load(open(sys.argv[1], 'rb'))['project']['dependencies']; print(int(any(d.startswith('fastapi') for d in deps)))" "$REPO/pyproject.toml")
expect "the server's libraries are installed only if the base dependencies name them" inside "$VENV/bin/python" -c \
    "import importlib.util as u, sys; sys.exit(any(u.find_spec(m) for m in ('fastapi', 'uvicorn', 'sqlalchemy')) != $server_in_base)"
expect "the venv's RPi.GPIO module is rpi-lgpio's" inside "$VENV/bin/python" -c \
    "import importlib.metadata as m, importlib.util as u, sys; sys.exit(m.packages_distributions()['RPi'] != ['rpi-lgpio'] or not u.find_spec('RPi').origin.startswith('$VENV/'))"
expect "off a Pi, RPi.GPIO refuses with the RuntimeError luma.core reports as UnsupportedPlatform" \
    has "RuntimeError: This module can only be run on a Raspberry Pi" <(inside "$VENV/bin/python" -c "import RPi.GPIO" 2>&1)
expect "nothing was compiled (no C compiler in the root)" inside sh -c "! command -v gcc && ! command -v cc"
expect "pip's dependencies are consistent" inside "$VENV/bin/pip" check
expect "gpiozero takes its pin factory from GPIOZERO_PIN_FACTORY" inside env GPIOZERO_PIN_FACTORY=mock \
    "$VENV/bin/python" -c "import sys; from gpiozero import Device; Device.ensure_pin_factory(); \
sys.exit(type(Device.pin_factory).__name__ != 'MockFactory')"
inside env GPIOZERO_PIN_FACTORY=lgpio "$VENV/bin/python" -c \
    "from gpiozero import Device; Device.ensure_pin_factory()" >"$OUT/gpiozero-lgpio" 2>&1 || true
expect "GPIOZERO_PIN_FACTORY=lgpio starts gpiozero's lgpio factory" has "gpiozero/pins/lgpio.py" "$OUT/gpiozero-lgpio"
expect "which says plainly that this is no Pi" has "PinUnknownPi: unable to locate Pi revision" "$OUT/gpiozero-lgpio"
expect "user kiosk is in i2c, dialout, gpio, plugdev" inside sh -c \
    'id -nG kiosk | tr " " "\n" | grep -cxE "i2c|dialout|gpio|plugdev" | grep -qx 4'
expect "kiosk.service is enabled" inside systemctl is-enabled kiosk.service
expect "the udev rule and module blacklist are in place" inside test -f /etc/udev/rules.d/60-kiosk-nfc.rules \
    -a -f /etc/modprobe.d/kiosk-nfc-blacklist.conf -a -f /etc/modules-load.d/kiosk.conf
expect "config.txt keeps the stock lines and gains the kiosk block once" cmp \
    <(cat "$HERE/boot-firmware/config.txt" "$REPO/firmware_config/boot-config.txt") "$ROOT/boot/firmware/config.txt"
expect "cmdline.txt lost the serial console only" cmp \
    <(sed 's/console=serial0,115200 //' "$HERE/boot-firmware/cmdline.txt") "$ROOT/boot/firmware/cmdline.txt"
expect "/etc/kiosk/kiosk.toml is root:kiosk 0640" \
    test "$(inside stat -c %U:%G:%a /etc/kiosk/kiosk.toml)" = root:kiosk:640

inside "$VENV/bin/kiosk" check-config /etc/kiosk/kiosk.toml >"$OUT/check-config" 2>&1 && status=0 || status=$?
expect "kiosk check-config accepts the installed config" test "$status" = 0
cat >"$ROOT/etc/kiosk/pn532.toml" <<'TOML'
[kiosk]
id = "counter-1"
[reader]
path = "tty:AMA0:pn532"
[lights]
buzzer_pin = 18
button_pin = 22
TOML
inside "$VENV/bin/kiosk" check-config /etc/kiosk/pn532.toml >>"$OUT/check-config" 2>&1 && status=0 || status=$?
expect "kiosk check-config accepts a PN532-on-the-UART config" test "$status" = 0

for config in kiosk pn532; do
    inside chown root:kiosk "/etc/kiosk/$config.toml"
    inside chmod 0640 "/etc/kiosk/$config.toml"
    inside sudo -u kiosk "$VENV/bin/kiosk" --config "/etc/kiosk/$config.toml" doctor >"$OUT/doctor-$config" 2>&1 \
        && status=0 || status=$?
    expect "kiosk doctor ($config.toml) fails without hardware, exit 1" test "$status" = 1
done
expect "doctor names the missing USB reader and its fix" has "^FAIL  reader +cannot open usb" "$OUT/doctor-kiosk"
expect "doctor names the missing PN532 and its wiring" has "^FAIL  reader +cannot open tty:AMA0:pn532" "$OUT/doctor-pn532"
expect "doctor tells how to check the PN532's wiring" has "TX to pin 10, RX to pin 8" "$OUT/doctor-pn532"
expect "doctor names the missing I2C bus of the OLED" has "^FAIL  display +/dev/i2c-1 is missing" "$OUT/doctor-kiosk"
expect "doctor finds the groups right" has "^PASS  groups" "$OUT/doctor-kiosk"
expect "doctor finds the boot config right for I2C" has "^PASS  boot config" "$OUT/doctor-kiosk"
expect "doctor finds the boot config right for the UART" has "^PASS  boot config" "$OUT/doctor-pn532"
expect "doctor finds the kernel NFC drivers blacklisted" has "^PASS  nfc modules" "$OUT/doctor-kiosk"
expect "doctor sees no Python error" lacks "Traceback" "$OUT/doctor-kiosk"

unmount_all
echo "pi-root: doctor inside the root said (kiosk.toml as installed):"
sed 's/^/    /' "$OUT/doctor-kiosk"
stage "$PASSED checks passed, $FAILED failed; logs in $CACHE"
((FAILED == 0))
