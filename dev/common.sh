# shellcheck shell=bash
# Shared set-up of the development tooling, sourced by dev/run, dev/test,
# dev/odoo and dev/lint. Every step is idempotent: a second run finds what the
# first one made and only checks it.
#
# Environment variables (all optional):
#   ODOO_SRC         an existing Odoo 19 checkout (folder with odoo-bin, or the
#                    parent folder of the `odoo` package)
#   XDG_CACHE_HOME   where the cache lives (default ~/.cache)
#   PGHOST PGPORT PGUSER PGPASSWORD
#                    an existing PostgreSQL server; otherwise a private cluster
#                    is started in the cache on 127.0.0.1:${CM_PGPORT:-55432}
#   CM_PYTHON        the Python interpreter for the virtual environment
#                    (default python3), a command or a path; a pyenv shim
#                    (python3.12) is resolved to pyenv's own interpreter

set -euo pipefail

CM_REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CM_MODULE=customer_messages
CM_CACHE=${XDG_CACHE_HOME:-$HOME/.cache}/customer_messages
CM_PYTHON=${CM_PYTHON:-python3}
CM_PGPORT=${CM_PGPORT:-55432}
mkdir -p "$CM_CACHE"

cm_log() { printf '\033[1m[customer_messages]\033[0m %s\n' "$*" >&2; }
cm_die() { printf '\033[1;31m[customer_messages] %s\033[0m\n' "$*" >&2; exit 1; }

cm_as_root() {
    if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi
}

# --- Debian packages of the machine --------------------------------------
cm_apt_updated=
cm_apt_install() {
    # Install Debian packages that are missing, with the system's own apt.
    local missing=() pkg
    for pkg in "$@"; do
        dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'ok installed' || missing+=("$pkg")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    cm_log "installing Debian packages: ${missing[*]}"
    if [ -z "$cm_apt_updated" ]; then
        cm_as_root apt-get update -qq
        cm_apt_updated=1
    fi
    cm_as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

cm_ensure_system_packages() {
    # wkhtmltopdf: real PDF reports; chromium: Odoo's browser tours;
    # postgresql: the private cluster (only when no server is given).
    local pkgs=(wkhtmltopdf chromium fonts-dejavu-core libmagic1 xz-utils)
    [ -n "${PGHOST:-}" ] || pkgs+=(postgresql)
    cm_apt_install "${pkgs[@]}"
}

cm_warm_browser() {
    # Odoo gives Chromium 10 s to start before it skips a tour (the tests raise
    # that limit: BrowserTour in tests/common.py); the first start on a fresh
    # machine (binary and fonts read from disk, caches built) can take longer
    # still, so it is started once beforehand, with time to spare.
    local dir
    dir=$(mktemp -d)
    timeout 120 chromium --headless --no-sandbox --disable-gpu --no-first-run \
        --disable-background-networking --disable-component-update --disable-sync \
        --user-data-dir="$dir" --dump-dom about:blank >/dev/null 2>&1 \
        || cm_log "Chromium did not start within 120 s: the tours will be skipped"
    rm -rf "$dir"
}

# --- Odoo 19 ----------------------------------------------------------------
# The Debian package of Odoo links its fonts and JavaScript libraries to these
# packages. Each entry is package/suite, where "own" is this machine's suite:
# fonts-font-awesome must be the 4.7-based build (sid's 7.x renamed its files),
# and sid's fonts-inconsolata 3.x moved Inconsolata.otf away.
CM_ODOO_DEB_LINKED=(
    fonts-font-awesome/own fonts-inconsolata/own fonts-montserrat/sid
    fonts-roboto-unhinted/sid fonts-ocr-b/sid libjs-jquery/sid
    libjs-jquery-form/sid libjs-underscore/sid
)

cm_odoo_is_19() {
    # $1: a folder holding the `odoo` package
    [ -f "$1/odoo/release.py" ] && grep -q "^version_info = (19, 0," "$1/odoo/release.py"
}

cm_fetch_odoo_debian() {
    # Fetch Odoo 19 from Debian unstable with apt's own client, using a private
    # sources list and state folder (the system's apt configuration is left
    # alone; apt checks signatures and checksums), then unpack it with dpkg.
    local dest=$1 work="$CM_CACHE/apt" uri own keyring
    uri=$(sed -n 's/^URIs:[[:space:]]*//p' /etc/apt/sources.list.d/*.sources 2>/dev/null | awk '{print $1; exit}')
    [ -n "$uri" ] || uri=$(awk '$1 == "deb" {for (i = 2; i <= NF; i++) if ($i ~ /^[a-z]+:\/\//) {print $i; exit}}' /etc/apt/sources.list 2>/dev/null)
    [ -n "$uri" ] || return 1
    own=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")
    [ -n "$own" ] || return 1
    keyring=/usr/share/keyrings/debian-archive-keyring.gpg
    [ -f "$keyring" ] || return 1
    rm -rf "$work" && mkdir -p "$work/parts" "$work/lists/partial" "$work/cache/archives/partial" "$work/debs"
    cat >"$work/parts/odoo.sources" <<EOF
Types: deb
URIs: $uri
Suites: sid $own
Components: main
Signed-By: $keyring
EOF
    local apt_opts=(-q -o "Dir::Etc::SourceList=/dev/null" -o "Dir::Etc::SourceParts=$work/parts"
        -o "Dir::State::Lists=$work/lists" -o "Dir::Cache=$work/cache" -o "Debug::NoLocking=1"
        -o "APT::Sandbox::User=root")
    cm_log "fetching Odoo 19 from Debian's odoo-19 package (suite sid)"
    apt-get "${apt_opts[@]}" update >/dev/null || return 1
    local pkgs=(odoo-19/sid) entry
    for entry in "${CM_ODOO_DEB_LINKED[@]}"; do
        pkgs+=("${entry%/*}/$( [ "${entry#*/}" = own ] && echo "$own" || echo sid)")
    done
    (cd "$work/debs" && apt-get "${apt_opts[@]}" download "${pkgs[@]}" >/dev/null) || return 1
    local tmp="$dest.partial" deb
    rm -rf "$tmp" && mkdir -p "$tmp"
    for deb in "$work/debs"/*.deb; do dpkg-deb -x "$deb" "$tmp"; done
    local dangling
    dangling=$(find "$tmp/usr/lib/python3/dist-packages/odoo" -xtype l)
    if [ -n "$dangling" ]; then
        cm_die "links of the odoo-19 package still dangle after unpacking ${pkgs[*]}:
$dangling"
    fi
    rm -rf "$dest" && mv "$tmp" "$dest"
    rm -rf "$work/debs" "$work/cache"
}

cm_complete_odoo_debian() {
    # Debian's build leaves out MediaPipe's selfie segmentation (not free
    # software), which mail's backend asset bundle still lists: the web client
    # then fails to load its assets. A stand-in keeps the bundle whole; only
    # the background blur of video calls is missing.
    local selfie="$1/odoo/addons/mail/static/lib/selfie_segmentation/selfie_segmentation.js"
    if [ ! -f "$selfie" ]; then
        mkdir -p "$(dirname "$selfie")"
        echo "/* Left out of Debian's odoo-19 package (customer_messages dev/common.sh). */" >"$selfie"
    fi
}

cm_fetch_odoo_git() {
    local dest=$1
    command -v git >/dev/null || return 1
    cm_log "fetching Odoo 19 with git clone --depth 1 --branch 19.0"
    rm -rf "$dest.partial"
    git clone -q --depth 1 --branch 19.0 https://github.com/odoo/odoo.git "$dest.partial" || return 1
    rm -rf "$dest" && mv "$dest.partial" "$dest"
}

cm_ensure_odoo() {
    # Sets CM_ODOO: the folder holding the `odoo` package.
    local deb_dir="$CM_CACHE/odoo-19-debian" git_dir="$CM_CACHE/odoo-19-git"
    local deb_src="$deb_dir/usr/lib/python3/dist-packages"
    if [ -n "${ODOO_SRC:-}" ]; then
        cm_odoo_is_19 "$ODOO_SRC" || cm_die "ODOO_SRC=$ODOO_SRC does not hold Odoo 19 (no odoo/release.py of 19.0)"
        CM_ODOO=$(cd "$ODOO_SRC" && pwd)
        CM_ODOO_ORIGIN="ODOO_SRC ($CM_ODOO)"
    elif cm_odoo_is_19 "$deb_src"; then
        cm_complete_odoo_debian "$deb_src"
        CM_ODOO=$deb_src
        CM_ODOO_ORIGIN="cache of Debian's odoo-19 package ($CM_ODOO)"
    elif cm_odoo_is_19 "$git_dir"; then
        CM_ODOO=$git_dir
        CM_ODOO_ORIGIN="cache of a git clone ($CM_ODOO)"
    elif cm_fetch_odoo_debian "$deb_dir" && cm_odoo_is_19 "$deb_src"; then
        cm_complete_odoo_debian "$deb_src"
        CM_ODOO=$deb_src
        CM_ODOO_ORIGIN="Debian's odoo-19 package, just fetched ($CM_ODOO)"
    elif cm_fetch_odoo_git "$git_dir" && cm_odoo_is_19 "$git_dir"; then
        CM_ODOO=$git_dir
        CM_ODOO_ORIGIN="git clone, just fetched ($CM_ODOO)"
    else
        cm_die "could not obtain Odoo 19: set ODOO_SRC to an Odoo 19 checkout"
    fi
    cm_log "Odoo source: $CM_ODOO_ORIGIN"
}

# --- Python -------------------------------------------------------------------
cm_pip_filter() {
    # pip's notes about package folders configured on this machine but absent
    grep -v "^WARNING: Location '.*' is ignored" >&2 || true
}

cm_resolve_python() {
    # Sets CM_PYTHON_BIN: the interpreter that CM_PYTHON names. A pyenv shim
    # (~/.pyenv/shims/python3.12) only runs when a version that has the
    # command is selected (PYENV_VERSION, .python-version, pyenv global):
    # pyenv then names the interpreter; otherwise it is taken from the newest
    # installed version that has the command.
    [ -z "${CM_PYTHON_BIN:-}" ] || return 0
    local path name root pyenv version
    path=$(command -v "$CM_PYTHON" 2>/dev/null) || cm_die "CM_PYTHON=$CM_PYTHON: no such command"
    name=$(basename "$path")
    root=$(dirname "$(dirname "$path")")
    if [ "$(basename "$(dirname "$path")")" = shims ] && [ -d "$root/versions" ]; then
        pyenv="$root/bin/pyenv"
        [ -x "$pyenv" ] || pyenv=$(command -v pyenv || true)
        if [ -n "$pyenv" ] && version=$(PYENV_ROOT=$root "$pyenv" which "$name" 2>/dev/null); then
            path=$version
        else
            version=$(cd "$root/versions" && for v in *; do
                if [ -x "$v/bin/$name" ]; then echo "$v"; fi
            done | sort -V | tail -n 1)
            [ -n "$version" ] || cm_die "CM_PYTHON=$CM_PYTHON: no pyenv version in $root has $name"
            path="$root/versions/$version/bin/$name"
        fi
    fi
    "$path" -c 'import sys' >/dev/null 2>&1 || cm_die "CM_PYTHON=$CM_PYTHON ($path) does not run"
    CM_PYTHON_BIN=$path
}

cm_ensure_venv() {
    # Sets CM_VENV (one per Python version: venv-pyX.Y). Installs the pinned
    # requirements only when they changed.
    local pyver stamp want
    cm_resolve_python
    pyver=$("$CM_PYTHON_BIN" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
    CM_VENV="$CM_CACHE/venv-py$pyver"
    [ -x "$CM_VENV/bin/python" ] || "$CM_PYTHON_BIN" -m venv "$CM_VENV"
    stamp="$CM_VENV/.customer_messages-requirements"
    want=$(cat "$CM_REPO/dev/requirements.txt" "$CM_REPO/dev/requirements-test.txt" \
        "$CM_REPO/test-requirements.txt" | sha256sum | cut -d' ' -f1)
    if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
        cm_log "installing Python requirements into $CM_VENV"
        "$CM_VENV/bin/python" -m pip install -q --disable-pip-version-check \
            -r "$CM_REPO/dev/requirements.txt" -r "$CM_REPO/dev/requirements-test.txt" 2>&1 | cm_pip_filter
        echo "$want" >"$stamp"
    fi
    cm_log "Python $pyver ($CM_PYTHON_BIN), virtual environment $CM_VENV"
}

cm_ensure_lint_venv() {
    local stamp want
    CM_LINT_VENV="$CM_CACHE/venv-lint"
    if [ ! -x "$CM_LINT_VENV/bin/python" ]; then
        cm_resolve_python
        "$CM_PYTHON_BIN" -m venv "$CM_LINT_VENV"
    fi
    stamp="$CM_LINT_VENV/.customer_messages-requirements"
    want=$(sha256sum <"$CM_REPO/dev/requirements-lint.txt" | cut -d' ' -f1)
    if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
        cm_log "installing linters into $CM_LINT_VENV"
        "$CM_LINT_VENV/bin/python" -m pip install -q --disable-pip-version-check \
            -r "$CM_REPO/dev/requirements-lint.txt" 2>&1 | cm_pip_filter
        echo "$want" >"$stamp"
    fi
}

# --- PostgreSQL ---------------------------------------------------------------
cm_pg_bin() {
    local dir
    dir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
    [ -n "$dir" ] || cm_die "PostgreSQL binaries not found"
    echo "$dir"
}

cm_ensure_postgres() {
    # Exports PGHOST PGPORT PGUSER PGPASSWORD for Odoo and the psql tools.
    # Sets CM_PG_CTL: pg_ctl of the private cluster, as its owner, with its
    # data folder and log (dev/delivery-check restarts it); empty for a
    # server given by PGHOST, which the tooling does not own.
    CM_PG_CTL=()
    if [ -n "${PGHOST:-}" ]; then
        export PGHOST PGPORT=${PGPORT:-5432} PGUSER=${PGUSER:-odoo} PGPASSWORD=${PGPASSWORD:-}
        cm_log "PostgreSQL: the server given by PGHOST ($PGHOST:$PGPORT, role $PGUSER)"
        return
    fi
    local bin data="$CM_CACHE/pg/data" run="$CM_CACHE/pg/run" runas=()
    bin=$(cm_pg_bin)
    if [ "$(id -u)" = 0 ]; then
        # initdb and postgres refuse root: the cluster belongs to the postgres
        # user, which only needs to traverse the folders above the cache (x
        # permission, nothing becomes listable or readable).
        id postgres >/dev/null 2>&1 || cm_die "no postgres system user to run the cluster"
        runas=(setpriv --reuid=postgres --regid=postgres --init-groups --)
        local d="$CM_CACHE/pg"
        while [ "$d" != / ]; do d=$(dirname "$d"); chmod o+x "$d" 2>/dev/null || true; done
    fi
    if [ ! -f "$data/PG_VERSION" ]; then
        cm_log "creating a private PostgreSQL cluster in $data"
        rm -rf "$CM_CACHE/pg" && mkdir -p "$data" "$run"
        [ ${#runas[@]} -eq 0 ] || chown -R postgres:postgres "$CM_CACHE/pg"
        local pwfile="$CM_CACHE/pg/pwfile"
        echo postgres >"$pwfile" && [ ${#runas[@]} -eq 0 ] || chown postgres "$pwfile"
        "${runas[@]}" "$bin/initdb" -D "$data" -U postgres --pwfile="$pwfile" -E UTF8 \
            --locale=C.UTF-8 --auth-local=trust --auth-host=scram-sha-256 >/dev/null
        rm -f "$pwfile"
        cat >>"$data/postgresql.conf" <<EOF
listen_addresses = '127.0.0.1'
port = $CM_PGPORT
unix_socket_directories = '$run'
fsync = off
synchronous_commit = off
full_page_writes = off
max_connections = 200
shared_buffers = 512MB
EOF
    fi
    if ! "${runas[@]}" "$bin/pg_ctl" -D "$data" status >/dev/null 2>&1; then
        cm_log "starting PostgreSQL on 127.0.0.1:$CM_PGPORT"
        "${runas[@]}" "$bin/pg_ctl" -D "$data" -l "$CM_CACHE/pg/server.log" -w -t 60 start >/dev/null \
            || cm_die "PostgreSQL did not start: see $CM_CACHE/pg/server.log"
    fi
    CM_PG_CTL=("${runas[@]}" "$bin/pg_ctl" -D "$data" -l "$CM_CACHE/pg/server.log")
    # Odoo refuses to connect as postgres: it gets a login role of its own.
    "${runas[@]}" "$bin/psql" -h "$run" -p "$CM_PGPORT" -U postgres -d postgres -qtA -v ON_ERROR_STOP=1 <<'EOF' >/dev/null
DO $$ BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'odoo') THEN
    CREATE ROLE odoo LOGIN CREATEDB PASSWORD 'odoo';
  END IF;
END $$;
EOF
    export PGHOST=127.0.0.1 PGPORT=$CM_PGPORT PGUSER=odoo PGPASSWORD=odoo
    cm_log "PostgreSQL: private cluster on $PGHOST:$PGPORT (role $PGUSER)"
}

# --- Odoo configuration -------------------------------------------------------
cm_write_config() {
    # Sets CM_CONF and CM_MODULE_LINK. The module folder is reached through a link named after the
    # module, whatever the checkout's folder is called (one link per checkout).
    local key addons
    key=$(printf '%s' "$CM_REPO" | sha256sum | cut -c1-12)
    addons="$CM_CACHE/addons/$key"
    mkdir -p "$addons"
    ln -sfn "$CM_REPO" "$addons/$CM_MODULE"
    CM_MODULE_LINK="$addons/$CM_MODULE"
    local odoo_addons="$CM_ODOO/odoo/addons"
    [ -d "$CM_ODOO/addons" ] && [ -f "$CM_ODOO/odoo-bin" ] && odoo_addons="$CM_ODOO/addons,$odoo_addons"
    CM_CONF="$CM_CACHE/odoo-$key.conf"
    cat >"$CM_CONF" <<EOF
[options]
addons_path = $odoo_addons,$addons
data_dir = $CM_CACHE/data
db_host = $PGHOST
db_port = $PGPORT
db_user = $PGUSER
db_password = $PGPASSWORD
admin_passwd = admin
http_interface = 127.0.0.1
EOF
}

cm_setup() {
    # Everything the run and test commands need, in order.
    cm_ensure_system_packages
    cm_ensure_odoo
    cm_ensure_venv
    cm_ensure_postgres
    cm_write_config
    export PATH="$CM_VENV/bin:$PATH"
    export PYTHONPATH="$CM_ODOO${PYTHONPATH:+:$PYTHONPATH}"
    export ODOO_RC="$CM_CONF"
}

cm_odoo() {
    # Odoo's own command line; it reads the project's configuration from ODOO_RC.
    "$CM_VENV/bin/python" "$CM_REPO/dev/odoo-bin" "$@"
}

cm_psql() {
    psql -X -q -v ON_ERROR_STOP=1 -d postgres "$@"
}

cm_db_exists() {
    [ "$(cm_psql -tA -c "SELECT 1 FROM pg_database WHERE datname = '$1'")" = 1 ]
}

cm_module_depends() {
    # The module's dependencies, sorted and comma-separated (from the manifest).
    "$CM_VENV/bin/python" - "$CM_REPO/__manifest__.py" <<'PYEOF'
import ast, sys
print(",".join(sorted(ast.literal_eval(open(sys.argv[1]).read())["depends"])))
PYEOF
}

cm_template() {
    # Prints the name of a template database, built once and kept until Odoo or
    # what it holds changes:
    #   cm_template KIND MODULES [FROM [ODOO_ARGS...]]
    # MODULES (comma-separated) are installed on a copy of the template FROM, or
    # on a new database when FROM is empty, with Odoo's ODOO_ARGS (--with-demo).
    # The name is cm_KIND_SOURCE_KEY: SOURCE stands for the Odoo source (its
    # folder) and KEY for all the rest (modules, FROM, arguments, Odoo's
    # release). A new template drops the earlier ones of the same KIND and the
    # same SOURCE only: another checkout may test against another Odoo source
    # (ODOO_SRC) at the same time, and keeps its templates. Python is not part
    # of it: every Python version's virtual environment shares the templates.
    # One build per KIND at a time, whatever runs in parallel. (The kinds are
    # not named cm_template_*: older versions of the tooling dropped every
    # cm_template_* database.)
    local kind=$1 modules=$2 from=${3:-} src key template prefix old lock
    shift $(($# < 3 ? $# : 3))
    local filestore="$CM_CACHE/data/filestore"
    src=$(printf '%s' "$CM_ODOO" | sha256sum | cut -c1-8)
    key=$(printf '%s|%s|%s|%s' "$modules" "$from" "$*" "$(sha256sum <"$CM_ODOO/odoo/release.py")" \
        | sha256sum | cut -c1-10)
    prefix="cm_${kind}_${src}_"
    template="$prefix$key"
    exec {lock}>"$CM_CACHE/$kind.lock"
    flock "$lock"
    if ! cm_db_exists "$template"; then
        cm_log "building the template database $template ($modules${from:+ on $from}${*:+, $*}), once"
        for old in $(cm_psql -tA -c "SELECT datname FROM pg_database WHERE datname LIKE 'cm%'"); do
            # the same kind and source: older keys and unfinished builds
            [[ $old == "$prefix"* ]] || continue
            dropdb --if-exists "$old" && rm -rf "${filestore:?}/$old"
        done
        if [ -n "$from" ]; then
            cm_copy_db "$from" "$template.partial" || cm_die "copying $from failed"
        fi
        cm_odoo -d "$template.partial" -i "$modules" "$@" --stop-after-init --no-http --log-level=warn >&2 \
            || cm_die "installing $modules failed"
        cm_psql -c "ALTER DATABASE \"$template.partial\" RENAME TO \"$template\"" \
            || cm_die "the template $template.partial went away while it was built"
        rm -rf "${filestore:?}/$template" && mv "$filestore/$template.partial" "$filestore/$template" 2>/dev/null || true
    fi
    flock -u "$lock"
    exec {lock}>&-
    echo "$template"
}

cm_deps_template() {
    # Prints the name of the template database holding the module's
    # dependencies (Odoo's apps only); with --demo, with their demo data (and
    # then the module's demo data is installed with it too).
    if [ "${1:-}" = --demo ]; then
        cm_template deps_demo "$(cm_module_depends)" "" --with-demo
    else
        cm_template deps "$(cm_module_depends)"
    fi
}

cm_copy_db() {
    # $1 template, $2 new database (dropped first), with its filestore
    local filestore="$CM_CACHE/data/filestore"
    dropdb --if-exists --force "$2"
    rm -rf "${filestore:?}/$2"
    createdb -T "$1" "$2" || return 1
    if [ -d "$filestore/$1" ]; then cp -a "$filestore/$1" "$filestore/$2"; fi
}
