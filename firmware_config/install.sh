#!/usr/bin/env bash
# Install the loyalty kiosk on Raspberry Pi OS (Bookworm), or update an installed one.
#
#   sudo firmware_config/install.sh             install for real (from a checkout)
#   firmware_config/install.sh --root DIR       write every file under DIR instead of /;
#                                               commands (useradd, systemctl...) are only
#                                               printed, never run
#   sudo firmware_config/install.sh --dry-run   print what would change; write nothing
#
# Safe to run again: what is already right is left alone, and the last line says whether
# anything changed. An existing /etc/kiosk/kiosk.toml is never overwritten.
set -euo pipefail

SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
HERE=$SRC/firmware_config
ROOT=""
DRY_RUN=0

SERVICE_USER=kiosk
SERVICE_GROUPS=(i2c dialout gpio plugdev)
PREFIX=/opt/kiosk
VENV=$PREFIX/venv
ETC=/etc/kiosk
UNIT=/etc/systemd/system/kiosk.service
WANTS=/etc/systemd/system/multi-user.target.wants
UDEV_RULES=/etc/udev/rules.d/60-kiosk-nfc.rules
BLACKLIST=/etc/modprobe.d/kiosk-nfc-blacklist.conf
MODULES_LOAD=/etc/modules-load.d/kiosk.conf
# python3-spidev: SPI OLEDs; PyPI has no aarch64 wheel of it and the venv sees system site
# packages, so nothing is compiled (lgpio, rpi-lgpio and the rest come as wheels).
APT_PACKAGES=(python3-venv python3-spidev libusb-1.0-0 i2c-tools)
NFC_MODULES=(port100 pn533_usb pn533 nfc)
MARK_BEGIN="# --- loyalty-kiosk: begin"
MARK_END="# --- loyalty-kiosk: end ---"

usage() {
    sed -n '2,11s/^# \{0,1\}//p' "${BASH_SOURCE[0]}"
}

while (($#)); do
    case $1 in
        --root) [[ $# -ge 2 ]] || { echo "install.sh: --root needs a directory" >&2; exit 2; }
                ROOT=$(cd "$2" 2>/dev/null && pwd) || { echo "install.sh: no such directory: $2" >&2; exit 2; }
                shift 2 ;;
        --root=*) ROOT=$(cd "${1#--root=}" 2>/dev/null && pwd) || { echo "install.sh: no such directory: ${1#--root=}" >&2; exit 2; }
                shift ;;
        --dry-run) DRY_RUN=1; shift ;;
        -h|--help) usage; exit 0 ;;
        *) echo "install.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
    esac
done
[[ $ROOT == / ]] && ROOT=""

CHANGES=0
SHOWN=0
REBOOT=()
NOTES=()

say() { printf '%s\n' "$*"; }
# The path a system file has in the target root.
t() { printf '%s%s' "$ROOT" "$1"; }
# Commands never run against a target root or in a dry run: they would act on this machine.
simulated() { [[ -n $ROOT || $DRY_RUN == 1 ]]; }
changed() { CHANGES=$((CHANGES + 1)); say "changed:   $*"; }

# Run a command that changes the system, or show it when simulated.
run() {
    local shown
    shown=$(printf '%q ' "$@")
    if simulated; then
        SHOWN=$((SHOWN + 1))
        say "would run: ${shown% }"
    else
        say "running:   ${shown% }"
        "$@"
    fi
}

# Install file $1 at system path $2 with mode $3 (and owner $4); returns 0 if it changed.
install_file() {
    local from=$1 to=$2 mode=$3 owner=${4:-}
    local dest
    dest=$(t "$to")
    if [[ -f $dest ]] && cmp -s "$from" "$dest" && [[ $(stat -c %a "$dest") == "${mode#0}" ]]; then
        say "unchanged: $to"
        fix_owner "$to" "$owner"
        return 1
    fi
    if ((DRY_RUN)); then
        SHOWN=$((SHOWN + 1))
        say "would write: $to"
        return 0
    fi
    install -D -m "$mode" "$from" "$dest"
    changed "$to"
    fix_owner "$to" "$owner" written
    return 0
}

fix_owner() {
    local to=$1 owner=$2 written=${3:-}
    [[ -n $owner ]] || return 0
    if simulated; then
        [[ -n $written ]] && run chown "$owner" "$to"
        return 0
    fi
    if [[ $(stat -c %U:%G "$to") != "$owner" ]]; then
        chown "$owner" "$to"
        changed "$to owned by $owner"
    fi
}

make_dir() {
    local dir=$1 mode=$2 owner=${3:-}
    if [[ -d $(t "$dir") ]]; then
        fix_owner "$dir" "$owner"
        return 0
    fi
    if ((DRY_RUN)); then
        SHOWN=$((SHOWN + 1))
        say "would create: $dir/"
        return 0
    fi
    install -d -m "$mode" "$(t "$dir")"
    changed "$dir/"
    fix_owner "$dir" "$owner" written
}

# Replace system file $1 by the text on stdin (keeping one backup of the original).
rewrite() {
    local to=$1 dest new
    dest=$(t "$to")
    new=$(mktemp)
    cat >"$new"
    if cmp -s "$new" "$dest"; then
        rm -f "$new"
        return 1
    fi
    if ((DRY_RUN)); then
        rm -f "$new"
        SHOWN=$((SHOWN + 1))
        say "would edit: $to"
        return 0
    fi
    [[ -e $dest.kiosk-backup ]] || cp -p "$dest" "$dest.kiosk-backup"
    cat "$new" >"$dest"  # in place: keeps the file's owner, mode and (FAT) location
    rm -f "$new"
    changed "$to (original kept as $to.kiosk-backup)"
    return 0
}

user_exists() {
    if [[ -n $ROOT ]]; then grep -q "^$1:" "$(t /etc/passwd)" 2>/dev/null; else getent passwd "$1" >/dev/null; fi
}

group_exists() {
    if [[ -n $ROOT ]]; then grep -q "^$1:" "$(t /etc/group)" 2>/dev/null; else getent group "$1" >/dev/null; fi
}

in_group() {
    local line
    if [[ -n $ROOT ]]; then line=$(grep "^$2:" "$(t /etc/group)" 2>/dev/null || true); else line=$(getent group "$2" || true); fi
    [[ ,${line##*:}, == *,$1,* ]]
}

# --- checks before touching anything -------------------------------------------------
if [[ -z $ROOT && $DRY_RUN == 0 && $EUID -ne 0 ]]; then
    echo "install.sh: run as root: sudo $0 (or try --dry-run / --root DIR)" >&2
    exit 1
fi
for part in systemd/kiosk.service firmware_config/kiosk.example.toml pyproject.toml; do
    [[ -f $SRC/$part ]] || { echo "install.sh: $SRC/$part is missing: run me from a kiosk checkout" >&2; exit 1; }
done
say "loyalty kiosk: installing from $SRC into ${ROOT:-/}$( ((DRY_RUN)) && echo ' (dry run)')"

# --- system packages ---------------------------------------------------------------
missing=()
if [[ -z $ROOT ]] && command -v dpkg-query >/dev/null; then
    for package in "${APT_PACKAGES[@]}"; do
        dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "ok installed" || missing+=("$package")
    done
elif [[ -n $ROOT ]]; then
    missing=("${APT_PACKAGES[@]}")  # a target root's packages cannot be asked: show the step
fi
if ((${#missing[@]})); then
    run apt-get install -y --no-install-recommends "${missing[@]}"
    simulated || changed "packages ${missing[*]}"
fi

# --- the service user ----------------------------------------------------------------
if ! user_exists "$SERVICE_USER"; then
    run useradd --system --user-group --home-dir /var/lib/kiosk --no-create-home \
        --shell /usr/sbin/nologin --comment "loyalty kiosk" "$SERVICE_USER"
    simulated || changed "user $SERVICE_USER"
fi
for group in "${SERVICE_GROUPS[@]}"; do
    if ! group_exists "$group"; then
        run groupadd --system "$group"
        simulated || changed "group $group"
    fi
    if ! in_group "$SERVICE_USER" "$group"; then
        run usermod --append --groups "$group" "$SERVICE_USER"
        simulated || changed "$SERVICE_USER joins $group"
    fi
done

# --- the program: a venv under /opt/kiosk ------------------------------------------
make_dir "$PREFIX" 0755
if [[ ! -x $(t "$VENV/bin/python") ]]; then
    # System site packages: Debian's python3-spidev serves the pi extra without a build.
    run python3 -m venv --system-site-packages "$VENV"
    simulated || changed "$VENV"
fi
# Reinstall only when the source changed: pip rebuilds a local project every time.
parts=()
for part in pyproject.toml kiosk sim central; do [[ -e $SRC/$part ]] && parts+=("$part"); done
source_hash=$(cd "$SRC" && find "${parts[@]}" -type f ! -path '*/__pycache__/*' ! -name '*.pyc' \
    | LC_ALL=C sort | xargs -d '\n' sha256sum | sha256sum | cut -c1-64)
stamp=$(t "$PREFIX/.installed-source")
if [[ ! -f $stamp || $(cat "$stamp") != "$source_hash" ]]; then
    run "$VENV/bin/pip" install --quiet --upgrade pip
    run "$VENV/bin/pip" install --quiet "${SRC}[pi]"
    if ! simulated; then
        printf '%s\n' "$source_hash" >"$stamp"
        changed "kiosk package in $VENV"
    fi
else
    say "unchanged: kiosk package in $VENV"
fi

# --- configuration -------------------------------------------------------------------
make_dir "$ETC" 0750 "root:$SERVICE_USER"
install_file "$HERE/kiosk.example.toml" "$ETC/kiosk.example.toml" 0644 || true
if [[ -e $(t "$ETC/kiosk.toml") ]]; then
    say "kept:      $ETC/kiosk.toml (yours; see $ETC/kiosk.example.toml for every field)"
else
    install_file "$HERE/kiosk.example.toml" "$ETC/kiosk.toml" 0640 "root:$SERVICE_USER" || true
    NOTES+=("Edit $ETC/kiosk.toml: at least [kiosk] id, [reader] path, [central] url.")
fi
# The state directory (/var/lib/kiosk) is made by systemd from StateDirectory=kiosk.

# --- the kernel's hold on the hardware ------------------------------------------------
if install_file "$HERE/60-kiosk-nfc.rules" "$UDEV_RULES" 0644; then
    if simulated || [[ -S /run/udev/control ]]; then
        run udevadm control --reload-rules
        run udevadm trigger --subsystem-match=usb
    else
        say "later:     udev is not running here (a chroot?): the rule applies from the next boot"
    fi
fi
install_file "$HERE/kiosk-nfc-blacklist.conf" "$BLACKLIST" 0644 || true
install_file "$HERE/modules-load.conf" "$MODULES_LOAD" 0644 || true
if [[ -r $(t /proc/modules) ]]; then
    loaded=()
    for module in "${NFC_MODULES[@]}"; do
        if grep -q "^$module " "$(t /proc/modules)"; then loaded+=("$module"); fi
    done
    if ((${#loaded[@]})); then
        REBOOT+=("the kernel NFC driver(s) ${loaded[*]} hold the USB reader (or: sudo modprobe -r ${loaded[*]})")
    fi
fi

# --- boot configuration: I2C at 400 kHz, the UART for a PN532, no serial console ----
boot=""
for candidate in /boot/firmware /boot; do  # Bookworm, then older Raspberry Pi OS
    if [[ -f $(t "$candidate/config.txt") ]] && ! grep -q "has moved to /boot/firmware" "$(t "$candidate/config.txt")"; then
        boot=$candidate
        break
    fi
done
if [[ -z $boot ]]; then
    say "skipped:   no /boot/firmware/config.txt or /boot/config.txt (not Raspberry Pi OS?)"
    NOTES+=("Add $HERE/boot-config.txt to the Pi's config.txt and remove console=serial0,115200 from its cmdline.txt by hand.")
else
    config_txt=$(t "$boot/config.txt")
    # Our block, replaced whole on update; everything else in the file is left as it was.
    if rewrite "$boot/config.txt" < <(
        awk -v b="$MARK_BEGIN" -v e="$MARK_END" '
            index($0, b) == 1 { skip = 1; next }
            skip && $0 == e { skip = 0; next }
            !skip' "$config_txt"
        cat "$HERE/boot-config.txt"
    ); then
        REBOOT+=("$boot/config.txt changed (I2C at 400 kHz, UART freed from Bluetooth)")
    else
        say "unchanged: $boot/config.txt"
    fi
    if [[ -f $(t "$boot/cmdline.txt") ]]; then
        # One line of space-separated words; drop the serial console, keep the rest in order.
        if rewrite "$boot/cmdline.txt" < <(awk '{
                out = ""
                for (i = 1; i <= NF; i++)
                    if ($i !~ /^console=(serial0|ttyAMA0|ttyS0)(,[0-9]+)?$/) out = out (out == "" ? "" : " ") $i
                print out
            }' "$(t "$boot/cmdline.txt")"); then
            REBOOT+=("the serial console was switched off in $boot/cmdline.txt")
        else
            say "unchanged: $boot/cmdline.txt"
        fi
    fi
fi
# Bluetooth's UART helper fails once disable-bt took the UART away.
# (-L: the link points into the target's /lib, which need not resolve from here.)
if [[ -L $(t "$WANTS/hciuart.service") || -L $(t /etc/systemd/system/bluetooth.target.wants/hciuart.service) ]]; then
    run systemctl disable hciuart.service
    simulated || changed "hciuart.service disabled"
fi

# --- the service ---------------------------------------------------------------------
if install_file "$SRC/systemd/kiosk.service" "$UNIT" 0644; then
    # Only a running systemd has units to reload (not a chroot building an image).
    if simulated || [[ -d /run/systemd/system ]]; then run systemctl daemon-reload; fi
fi
if [[ ! -L $(t "$WANTS/kiosk.service") ]]; then
    run systemctl enable kiosk.service
    simulated || changed "kiosk.service enabled"
else
    say "unchanged: kiosk.service enabled"
fi

# --- what the owner does next ----------------------------------------------------------
say ""
if ((CHANGES == 0)); then
    if ((SHOWN)); then
        say "Nothing changed ($SHOWN step(s) above only shown: $( [[ -n $ROOT ]] && echo "--root $ROOT" || echo "dry run"))."
    else
        say "Nothing changed: the kiosk is installed and up to date."
    fi
else
    say "$CHANGES change(s) made."
fi
for note in "${NOTES[@]}"; do say "- $note"; done
say "- Wiring: OLED SDA to pin 3, SCL to pin 5 (3V3 and GND); a PN532 on the UART in HSU mode"
say "  with its TX to pin 10 (GPIO15, RXD) and RX to pin 8 (GPIO14, TXD), powered from 3V3 (pin 1:"
say "  the Pi's pins take 3.3 V only); USB readers just plug in. The README has every table."
say "- Check the hardware: sudo systemctl stop kiosk; sudo -u $SERVICE_USER $VENV/bin/kiosk --config $ETC/kiosk.toml doctor"
if ((${#REBOOT[@]})); then
    say "REBOOT NEEDED (sudo reboot), because:"
    for reason in "${REBOOT[@]}"; do say "  * $reason"; done
    say "  The kiosk starts by itself after the reboot."
else
    say "- Start (or restart) it: sudo systemctl restart kiosk; follow it: journalctl -fu kiosk"
fi
