#!/usr/bin/env bash
# Installs Autobahn|Testsuite's wstest (the reference WebSocket conformance suite) once, outside the
# repository, and prints the path of a wstest command that needs no further setup.
#
#   tests/autobahn/install.sh     -> installs if needed, then prints $AUTOBAHN_HOME/bin/wstest
#
# wstest runs only on Python 2.7, which Debian 12 no longer ships. So Python 2.7 is taken from
# Debian 11 "bullseye": its .deb packages are fetched with apt-get download against a private apt
# state (nothing is installed system-wide, no root needed) and unpacked with dpkg-deb; pip, taken
# from bullseye's python-pip-whl, then installs the suite and its pinned Python 2 dependencies
# from PyPI, compiling the C extensions that have no Python 2 wheel (wsaccel's, and Twisted's
# optional ones) with the system's C compiler. bin/wstest sets PYTHONHOME, PYTHONUSERBASE and
# LD_LIBRARY_PATH for that Python only: exported into a shell they would break its python3.
#
# Environment:
#   AUTOBAHN_HOME           the install folder, default ${XDG_CACHE_HOME:-$HOME/.cache}/klient/autobahn
#   AUTOBAHN_DEBIAN_MIRROR  the Debian mirror to fetch bullseye from, default the one apt is
#                           configured with (e.g. http://deb.debian.org/debian)
#
# Everything is built in a temporary folder beside AUTOBAHN_HOME and moved into place only when
# wstest runs, so an interrupted install is never taken for a finished one. A later run compares
# the recorded recipe (packages and pins below) and does nothing else; changing the recipe
# reinstalls. Progress goes to stderr, the wstest path alone to stdout.
set -euo pipefail

say() { echo "autobahn install: $*" >&2; }
die() { say "$*"; exit 1; }
# A failure no check below anticipated still says where it happened.
trap 'say "unexpected failure (line $LINENO: $BASH_COMMAND)"' ERR

[ $# -eq 0 ] || { echo "usage: $0   (prints the path of wstest, installing it first if needed)" >&2; exit 2; }

home=${AUTOBAHN_HOME:-${XDG_CACHE_HOME:-$HOME/.cache}/klient/autobahn}
suite=bullseye
# Python 2.7 with its headers (for the C extensions), the two libraries bullseye links it against
# that bookworm replaced (libssl3, libffi8), and pip's wheel.
debs=(python2.7 python2.7-minimal libpython2.7 libpython2.7-minimal libpython2.7-stdlib
  python2.7-dev libpython2.7-dev libssl1.1 libffi7 python-pip-whl)
# pip installs in steps, each after what its setup.py imports: Twisted's needs incremental, and
# --no-build-isolation keeps pip from fetching build tools that no longer support Python 2.
step_names=("build tools" "Twisted's prerequisites and crypto" "Twisted"
  "autobahn 0.10.9 and its dependencies (compiles wsaccel)" "autobahntestsuite")
step_pkgs=("pip==20.3.4 setuptools==44.0.0 wheel==0.36.2"
  "incremental==16.10.1 pyOpenSSL==19.1.0 cryptography==3.3.2"
  "Twisted==19.10.0"
  "txaio==2.1.0 zope.interface==4.6.0 Jinja2==2.11.3 MarkupSafe==1.1.1 Werkzeug==1.0.1 klein==17.10.0 service-identity==18.1.0 unittest2==1.1.0 six==1.16.0 autobahn[twisted,accelerate]==0.10.9"
  "autobahntestsuite==25.10.1")
# Everything the steps above pull in, pinned too, so every install resolves the same set.
constraints="
attrs==21.4.0
Automat==22.10.0
cffi==1.15.1
constantly==15.1.0
enum34==1.1.10
hyperlink==21.0.0
idna==2.10
ipaddress==1.0.23
pyasn1==0.5.1
pyasn1-modules==0.3.0
pycparser==2.21
PyHamcrest==1.10.1
traceback2==1.4.0
linecache2==1.0.0
typing==3.10.0.0
ujson==2.0.3
wsaccel==0.6.6
"
recipe="$suite: ${debs[*]}; pip: ${step_pkgs[*]}; constraints:$(printf ' %s' $constraints)"

installed() { [ -x "$home/bin/wstest" ] && [ "$(cat "$home/recipe" 2>/dev/null)" = "$recipe" ]; }
if installed; then
  say "wstest is already installed in $home"
  echo "$home/bin/wstest"; exit 0
fi

# One install at a time: a second caller waits, then finds the first one's result.
parent=$(dirname "$home")
mkdir -p "$parent" || die "cannot create $parent (set AUTOBAHN_HOME to a writable folder)"
if command -v flock >/dev/null; then
  exec 9>"$home.lock"
  flock -n 9 || { say "another install into $home is running; waiting for it"; flock 9; }
  if installed; then say "wstest is installed in $home"; echo "$home/bin/wstest"; exit 0; fi
  rm -rf "$home".partial.* # left by an install that was killed
fi

# What the install needs from this machine, checked before anything is downloaded.
for tool in apt-get apt-cache dpkg-deb; do
  command -v "$tool" >/dev/null || die "$tool is not on PATH. Python 2.7 for wstest is unpacked from Debian 11 packages, which needs apt-get, apt-cache and dpkg-deb (a Debian or Ubuntu system). Elsewhere install wstest (Autobahn|Testsuite, Python 2.7) yourself and set AUTOBAHN_WSTEST to it for tests/autobahn/run.sh."
done
keyring=/usr/share/keyrings/debian-archive-keyring.gpg
[ -f "$keyring" ] || die "the Debian archive keyring $keyring is missing, so the bullseye packages cannot be verified: install the package debian-archive-keyring (apt-get install debian-archive-keyring)"
command -v cc >/dev/null || command -v gcc >/dev/null \
  || die "no C compiler (cc or gcc) on PATH: wsaccel, autobahn's WebSocket accelerator, is compiled from source (and Twisted's optional C extensions). Install one: apt-get install gcc"

mirror=${AUTOBAHN_DEBIAN_MIRROR:-}
if [ -z "$mirror" ]; then
  # apt's own view: the repository whose Release file is labelled Debian (known once apt-get update ran)...
  mirror=$(apt-get indextargets --format '$(LABEL) $(REPO_URI)' 2>/dev/null | awk '$1 == "Debian" { print $2; exit }') || mirror=
  # ...else the first configured URI that is a Debian archive (its path ends in /debian).
  [ -n "$mirror" ] || mirror=$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources 2>/dev/null \
    | grep -E '^[[:space:]]*(deb[[:space:]]|URIs:)' | grep -oE '(https?|ftp)://[^[:space:]]+' | grep -E '/debian/?$' | head -1) || mirror=
  [ -n "$mirror" ] || die "no Debian mirror is configured for apt (none in /etc/apt/sources.list or /etc/apt/sources.list.d/); set AUTOBAHN_DEBIAN_MIRROR, e.g. AUTOBAHN_DEBIAN_MIRROR=http://deb.debian.org/debian"
fi
mirror=${mirror%/}

say "one-time install of wstest (Autobahn|Testsuite) and Python 2.7 into $home: about 50 MB of downloads and 120 MB on disk, about a minute (30-60 s measured; longer on a slow network)"
began=$(date +%s)
tmp=$(mktemp -d "$home.partial.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
log=$tmp/step.log
# The last lines of a failed step's output, indented, for the message.
log_tail() { tail -n "${1:-15}" "$log" | sed 's/^/    /' >&2; }

# --- Python 2.7 from bullseye ----------------------------------------------------------------------
apt_dir=$tmp/apt
mkdir -p "$apt_dir/lists/partial" "$apt_dir/cache/archives/partial" "$tmp/debs"
echo "deb [signed-by=$keyring] $mirror $suite main" >"$apt_dir/sources.list"
# Only this source, no pinning and no dpkg status of this system: the candidate is bullseye's version.
apt_opts=(-o "Dir::Etc::SourceList=$apt_dir/sources.list" -o Dir::Etc::SourceParts=/dev/null
  -o Dir::Etc::Preferences=/dev/null -o Dir::Etc::PreferencesParts=/dev/null
  -o "Dir::State::Lists=$apt_dir/lists" -o "Dir::Cache=$apt_dir/cache" -o Dir::State::status=/dev/null)
# As root apt would download as the user _apt, who may not enter this folder.
[ "$(id -u)" != 0 ] || apt_opts+=(-o APT::Sandbox::User=root)

say "reading the $suite package index from $mirror"
if ! apt-get "${apt_opts[@]}" update >"$log" 2>&1 || ! ls "$apt_dir"/lists/*_dists_"${suite}"_main_binary-*_Packages* >/dev/null 2>&1; then
  log_tail
  die "could not read the Debian $suite package index from $mirror (apt-get update, output above). Check the network, or point AUTOBAHN_DEBIAN_MIRROR at a Debian mirror that still carries $suite, e.g. http://deb.debian.org/debian or http://archive.debian.org/debian"
fi

say "downloading ${#debs[@]} Debian packages: ${debs[*]}"
for pkg in "${debs[@]}"; do
  if ! (cd "$tmp/debs" && apt-get "${apt_opts[@]}" download "$pkg") >"$log" 2>&1; then
    if ! apt-cache "${apt_opts[@]}" show --no-all-versions "$pkg" >/dev/null 2>&1; then
      die "the Debian package $pkg was not found in $suite on $mirror; point AUTOBAHN_DEBIAN_MIRROR at a full Debian mirror that carries $suite (main)"
    fi
    log_tail 5
    die "the Debian package $pkg is in $suite on $mirror but could not be downloaded (apt-get download, output above); check the network or try another mirror with AUTOBAHN_DEBIAN_MIRROR"
  fi
done

root=$tmp/python
for deb in "$tmp"/debs/*.deb; do
  dpkg-deb -x "$deb" "$root" 2>"$log" || { log_tail 5; die "dpkg-deb could not unpack $(basename "$deb") (output above)"; }
done
# The multiarch folder holding the libraries (x86_64-linux-gnu on amd64).
libdir=$(dirname "$(ls "$root"/usr/lib/*/libssl.so.1.1 2>/dev/null | head -1)")
[ -x "$root/usr/bin/python2.7" ] && [ -d "$libdir" ] || die "the unpacked packages lack usr/bin/python2.7 or libssl.so.1.1 under $root/usr/lib"

# bin/wstest finds everything relative to itself, so the folder works from wherever it is moved to.
mkdir -p "$tmp/bin"
cat >"$tmp/bin/wstest" <<WRAPPER
#!/bin/sh
# wstest (Autobahn|Testsuite) on the private Python 2.7 installed by klient's tests/autobahn/install.sh.
home=\$(cd "\$(dirname "\$0")/.." && pwd)
unset PYTHONPATH PYTHONNOUSERSITE PYTHONSTARTUP
PYTHONHOME=\$home/python/usr PYTHONUSERBASE=\$home/site \\
  LD_LIBRARY_PATH=\$home/python/usr/lib/$(basename "$libdir")\${LD_LIBRARY_PATH:+:\$LD_LIBRARY_PATH} \\
  exec "\$home/python/usr/bin/python2.7" "\$home/site/bin/wstest" "\$@"
WRAPPER
chmod +x "$tmp/bin/wstest"

# --- the suite from PyPI -----------------------------------------------------------------------------
export PYTHONHOME=$root/usr PYTHONUSERBASE=$tmp/site LD_LIBRARY_PATH=$libdir${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
unset PYTHONPATH PYTHONNOUSERSITE
py=$root/usr/bin/python2.7
"$py" -c 'import ssl, zlib, ctypes' 2>"$log" || { log_tail 5; die "the unpacked Python 2.7 does not start or lacks ssl/zlib/ctypes (output above)"; }
# Debian's Python.h includes <x86_64-linux-gnu/python2.7/pyconfig.h>, found under usr/include.
export CFLAGS="-I$root/usr/include -I$root/usr/include/python2.7${CFLAGS:+ $CFLAGS}"
# distutils compiles with the compiler Python was built with (x86_64-linux-gnu-gcc); fall back to
# the system's gcc or cc when that name does not exist here.
python_cc=$("$py" -c 'import sysconfig; print(sysconfig.get_config_var("CC").split()[0])')
if [ -z "${CC:-}" ] && ! command -v "$python_cc" >/dev/null; then
  export CC; CC=$(command -v gcc || command -v cc)
fi
printf '%s\n' $constraints >"$tmp/constraints.txt"
pip_wheel=$(ls -d "$root"/usr/share/python-wheels/pip-*.whl 2>/dev/null | head -1)
[ -n "$pip_wheel" ] || die "python-pip-whl has no pip wheel under usr/share/python-wheels"

for i in "${!step_names[@]}"; do
  say "pip: ${step_names[$i]}: ${step_pkgs[$i]}"
  # The first step runs pip straight from Debian's wheel, to install pip itself.
  if [ "$i" = 0 ]; then pip=("$py" "$pip_wheel/pip"); else pip=("$py" -m pip); fi
  read -ra pkgs <<<"${step_pkgs[$i]}" # words, never globs: autobahn[twisted,accelerate] has brackets
  if ! "${pip[@]}" install --user --no-cache-dir --no-warn-script-location --no-build-isolation \
    --disable-pip-version-check -c "$tmp/constraints.txt" "${pkgs[@]}" >"$log" 2>&1; then
    missing=$(sed -n 's/.*No matching distribution found for \([^ ]*\).*/\1/p' "$log" | head -1)
    building=$(sed -n 's/.*Failed building wheel for \([^ ]*\).*/\1/p' "$log" | head -1)
    [ -n "$building" ] || building=$(sed -n 's/.*Running setup.py install for \([^ ]*\).*/\1/p' "$log" | tail -1)
    header=$(sed -n 's/.*fatal error: \([^:]*\.h\): No such file.*/\1/p' "$log" | head -1)
    compiler=$(sed -n "s/.*unable to execute '\\([^']*\\)'.*/\\1/p; s/.*command '\\([^']*\\)' failed: No such file.*/\\1/p" "$log" | head -1)
    if [ -n "$missing" ]; then
      log_tail 4
      die "pip could not find $missing on ${PIP_INDEX_URL:-PyPI (https://pypi.org/simple)} for Python 2.7. Check the network (or HTTPS_PROXY), and that the index still serves this release for Python 2.7"
    elif [ -n "$compiler" ]; then
      die "building the C extension of ${building:-a package} needs the C compiler $compiler, which is missing: install gcc (apt-get install gcc), or set CC to a C compiler"
    elif [ -n "$header" ]; then
      die "building the C extension of ${building:-a package} needs the header $header, which is missing: install the package that provides it (apt-file search $header)"
    fi
    log_tail 25
    die "pip failed to install ${step_names[$i]} (${step_pkgs[$i]}); its output ends above"
  fi
done

say "checking that wstest runs"
"$tmp/bin/wstest" --help >"$log" 2>&1 || { log_tail 15; die "the installed wstest does not run (wstest --help, output above)"; }

rm -rf "$tmp/apt" "$tmp/debs" "$log" "$tmp/constraints.txt"
echo "$recipe" >"$tmp/recipe"
chmod 755 "$tmp" # mktemp made it private
# Into place: an older install (another recipe) is moved aside first and removed after.
old=
if [ -e "$home" ]; then old=$home.old.$$; mv "$home" "$old"; fi
mv "$tmp" "$home"
trap - EXIT
[ -z "$old" ] || rm -rf "$old"
say "installed in $(( $(date +%s) - began ))s, $(du -sh "$home" | cut -f1) in $home"
echo "$home/bin/wstest"
