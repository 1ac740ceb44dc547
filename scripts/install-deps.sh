#!/usr/bin/env bash
# The tools `make test` needs: Go, Java 17+ (DynamoDB Local), Node 20+ with
# npm (the pinned AWS emulators), Chromium (the browser tests) and cfn-lint
# (template.yaml).
#
#   scripts/install-deps.sh           check, install what is missing where
#                                     this machine allows, check again
#   scripts/install-deps.sh --check   check only
#
# `make test` and .ci/run both run it first. It installs with apt-get when
# it runs as root or may use sudo without a password (it never prompts), and
# cfn-lint with pipx. Whatever is still missing is listed in one message,
# each tool with the command that installs it, and the script fails — in
# seconds, before any test has run. It only ever installs what is missing.
set -uo pipefail

# The repository root, without dirname (the check must work on a bare PATH).
here=${BASH_SOURCE[0]}
if [[ $here == */* ]]; then here=${here%/*}; else here=.; fi
cd "$here/.." || exit 2

mode=install
case "${1:-}" in
--check) mode=check ;;
"") ;;
*)
	echo "usage: scripts/install-deps.sh [--check]" >&2
	exit 2
	;;
esac

have() { command -v "$1" >/dev/null 2>&1; }

# The Go version go.mod asks for (Go 1.21+ fetches it by itself).
go_wanted=""
while read -r word version _; do
	if [[ $word == go ]]; then
		go_wanted=$version
		break
	fi
done <go.mod

# Each check succeeds when the tool is usable, and sets found to what it saw.
found=""
go_ok() {
	local v
	v=$(go env GOVERSION 2>/dev/null) || return 1
	found=$v
	[[ $v =~ ^go1\.([0-9]+) ]] && ((BASH_REMATCH[1] >= 21))
}
java_ok() {
	local v major
	v=$(java -version 2>&1) || return 1
	[[ $v =~ version\ \"([0-9]+)(\.([0-9]+))? ]] || return 1
	major=${BASH_REMATCH[1]}
	[[ $major == 1 ]] && major=${BASH_REMATCH[3]} # 1.8 is Java 8
	found="java $major"
	((major >= 17))
}
node_ok() {
	local v
	v=$(node --version 2>/dev/null) || return 1
	found="node $v"
	[[ $v =~ ^v([0-9]+) ]] && ((BASH_REMATCH[1] >= 20)) && have npm
}
chromium_ok() {
	local name
	if [[ -n ${CHROME_PATH:-} && -x ${CHROME_PATH} ]]; then
		found=$CHROME_PATH
		return 0
	fi
	for name in chromium chromium-browser google-chrome; do
		if have "$name"; then
			found=$name
			return 0
		fi
	done
	return 1
}
cfnlint_ok() {
	found=cfn-lint
	have cfn-lint
}

tools=(go java node chromium cfnlint)
declare -A label=(
	[go]="Go 1.21+"
	[java]="Java 17+"
	[node]="Node 20+ and npm"
	[chromium]="Chromium"
	[cfnlint]="cfn-lint"
)
declare -A how=(
	[go]="curl -fsSL https://go.dev/dl/go${go_wanted}.linux-\$(dpkg --print-architecture).tar.gz | sudo tar -C /usr/local -xz && export PATH=\$PATH:/usr/local/go/bin   (https://go.dev/dl/)"
	[java]="sudo apt-get install -y openjdk-17-jre-headless"
	[node]="sudo apt-get install -y nodejs npm   (Debian 13+; Debian 12's nodejs is 18: install Node 20+ from https://github.com/nodesource/distributions)"
	[chromium]="sudo apt-get install -y chromium   (or set CHROME_PATH to a Chrome binary)"
	[cfnlint]="sudo apt-get install -y pipx && pipx install cfn-lint   (then have ~/.local/bin on PATH; or pip install cfn-lint in a virtualenv)"
)

missing=()
seen=()
check_all() {
	missing=()
	seen=()
	local t
	for t in "${tools[@]}"; do
		found=""
		if "${t}_ok"; then
			seen+=("$found")
		else
			missing+=("$t")
		fi
	done
}

check_all

can_apt=false
if [[ $mode == install && ${#missing[@]} -gt 0 ]]; then
	# How this machine lets us install: as root, or with sudo that does not
	# ask for a password; never with a prompt in the middle of make.
	sudo=()
	if have apt-get; then
		if ((EUID == 0)); then
			can_apt=true
		elif have sudo && sudo -n true 2>/dev/null; then
			sudo=(sudo -n)
			can_apt=true
		fi
	fi
	packages=()
	for t in "${missing[@]}"; do
		case $t in
		java) packages+=(openjdk-17-jre-headless) ;;
		node)
			have node || packages+=(nodejs)
			have npm || packages+=(npm)
			;;
		chromium) packages+=(chromium) ;;
		cfnlint) have pipx || packages+=(pipx) ;;
		esac
	done
	if $can_apt && ((${#packages[@]} > 0)); then
		echo "install-deps: apt-get install ${packages[*]}"
		"${sudo[@]}" apt-get update -qq &&
			"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${packages[@]}" >/dev/null ||
			echo "install-deps: apt-get failed; see above" >&2
	fi
	if [[ " ${missing[*]} " == *" cfnlint "* ]] && have pipx; then
		echo "install-deps: pipx install cfn-lint"
		if ((EUID == 0)); then
			# Root: a shared install on everyone's PATH.
			PIPX_HOME=/opt/pipx PIPX_BIN_DIR=/usr/local/bin pipx install --quiet cfn-lint >/dev/null ||
				echo "install-deps: pipx install cfn-lint failed" >&2
		else
			pipx install --quiet cfn-lint >/dev/null || echo "install-deps: pipx install cfn-lint failed" >&2
		fi
		hash -r
	fi
	check_all
fi

if ((${#missing[@]} > 0)); then
	{
		echo "make test needs tools this machine does not have:"
		for t in "${missing[@]}"; do
			printf '  - %-17s %s\n' "${label[$t]}:" "${how[$t]}"
		done
		if [[ $mode == install ]] && ! $can_apt; then
			echo "(nothing was installed: that needs apt-get as root or with passwordless sudo)"
		fi
		echo "Install them and run make test again; scripts/install-deps.sh --check lists what is still missing."
	} >&2
	exit 1
fi
echo "tools: ${seen[*]}"
