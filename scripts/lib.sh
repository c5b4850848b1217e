# shellcheck shell=bash
# Helpers shared by scripts/dev-up and scripts/test-all (sourced, not run).

GUILDHALL_REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

say() { printf '%s\n' "$*"; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# Debian packages from scripts/packages.txt that are not installed.
missing_packages() {
    local pkg
    while read -r pkg; do
        [[ -z $pkg || $pkg == \#* ]] && continue
        [[ $(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null) == 'install ok installed' ]] ||
            printf '%s\n' "$pkg"
    done < "$GUILDHALL_REPO/scripts/packages.txt"
}

# Installs what is missing when root; otherwise prints the command to run and fails.
ensure_packages() {
    local missing
    command -v dpkg-query > /dev/null || die "not a Debian system: install the packages in scripts/packages.txt by hand"
    mapfile -t missing < <(missing_packages)
    ((${#missing[@]} == 0)) && return 0
    if ((EUID != 0)); then
        say "missing packages; run:"
        say "  sudo apt-get install -y ${missing[*]}"
        exit 1
    fi
    say "installing ${#missing[@]} package(s): ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q
    apt-get install -y -q "${missing[@]}" < /dev/null
}

# Prints the tail of a log file, framed, to stderr.
show_log() {
    local file=$1 lines=${2:-40}
    [[ -f $file ]] || return 0
    printf -- '--- last %s lines of %s ---\n' "$lines" "$file" >&2
    tail -n "$lines" "$file" >&2
    printf -- '---\n' >&2
}
