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

# Copies the checkout's sources to DEST: what git tracks and what it does not ignore, as they are in
# the working tree (uncommitted edits included; a fresh clone gives HEAD), without the outputs of an
# in-tree build (configure's and make's files, objects, executables).
export_sources() { # DEST
    mkdir -p "$1"
    (
        cd "$GUILDHALL_REPO"
        {
            git ls-files -z --cached
            git ls-files -z --others --exclude-standard |
                grep -zvE '(^|/)((auto)?config\.(status|log|h)|stamp-h[0-9]*|libtool|Makefile|\.dirstamp)$|(^|/)\.(deps|libs)/|\.(o|lo|la|a|log|trs)$' || true
        } | while IFS= read -r -d '' f; do
            [[ -e $f || -L $f ]] || continue
            [[ $(head -c 4 "$f" 2> /dev/null | tr -d '\0') == $'\x7fELF' ]] && continue
            printf '%s\0' "$f"
        done | tar --null -T - -cf -
    ) | tar -xf - -C "$1"
}
