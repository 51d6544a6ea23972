#!/bin/sh
# Runs the runtime's tests again as an unprivileged user (nobody), twice:
#
#   1. as on a host with user namespaces: sandboxes must get them, and
#   2. as on a host without: withoutuserns runs the tests in a user
#      namespace where no more can be created; sandboxes must still work,
#      with less isolation, and cloudabi-run must warn.
#
# `make test` runs it after the tests as root. It needs root to become
# nobody and does nothing otherwise (the suite then already ran
# unprivileged). Guest programs built by the run as root are reused.
set -eu
cd "$(dirname "$0")/.."
GO=${GO:-go}
if [ "$(id -u)" -ne 0 ]; then
	echo "test-unprivileged: not root: the tests already ran as an unprivileged user"
	exit 0
fi
user=65534
tmp=$(mktemp -d /tmp/cloudabi-unprivileged.XXXXXX)
trap 'rm -rf "$tmp"' EXIT INT TERM
chmod 755 "$tmp"

# The test binaries, and a private, writable copy of the guest build cache.
$GO test -c -o "$tmp/root.test" .
$GO test -c -o "$tmp/kernel.test" ./internal/kernel
$GO build -o "$tmp/cloudabi-run" ./cmd/cloudabi-run
$GO build -o "$tmp/withoutuserns" ./internal/tools/withoutuserns
./sdk/cloudabi-cc -o "$tmp/hello" examples/hello/hello.c
cache=${CLOUDABI_GUESTBUILD_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/cloudabi-go/guestbuild}
mkdir "$tmp/cache"
if [ -d "$cache" ]; then
	cp -R "$cache/." "$tmp/cache/"
fi

# The tests read the sources (guests, SDK) from the tree they run in;
# nobody may not be able to reach this one, so they get a copy if need be.
src=$PWD
if ! setpriv --reuid=$user --regid=$user --clear-groups test -r "$src/go.mod"; then
	src=$tmp/src
	mkdir "$src"
	tar --exclude=./.git -cf - . | tar -xf - -C "$src"
fi
mkdir "$tmp/home"
chown -R $user:$user "$tmp/cache" "$tmp/home"

as_nobody() {
	expect=$1
	shift
	env -i PATH="$PATH" HOME="$tmp/home" TMPDIR=/tmp CLOUDABI_REQUIRE_CLANG=1 \
		CLOUDABI_GUESTBUILD_CACHE="$tmp/cache" CLOUDABI_EXPECT_ISOLATION="$expect" "$@"
}

# CLOUDABI_EXPECT_ISOLATION=user (CI sets it) makes the first round insist
# on user namespaces; the second one's host has none by construction.
rounds="user none"
if ! "$tmp/withoutuserns" $user true; then
	echo "test-unprivileged: this host has no user namespaces: one round only"
	rounds=user
fi
for round in $rounds; do
	if [ $round = user ]; then
		run="setpriv --reuid=$user --regid=$user --clear-groups"
		expect=${CLOUDABI_EXPECT_ISOLATION:+user}
		echo "test-unprivileged: as nobody, with user namespaces"
	else
		run="$tmp/withoutuserns $user"
		expect=none
		echo "test-unprivileged: as nobody, without user namespaces"
	fi
	(cd "$src" && as_nobody "$expect" $run "$tmp/root.test" -test.count=1 -test.timeout=10m)
	(cd "$src/internal/kernel" && as_nobody "$expect" $run "$tmp/kernel.test" -test.count=1 -test.timeout=10m)

	# cloudabi-run runs hello, and says so when isolation is reduced.
	(cd "$src" && as_nobody $round $run "$tmp/cloudabi-run" "$tmp/hello" <examples/hello/hello.yaml >"$tmp/out" 2>"$tmp/err") || {
		echo "test-unprivileged: cloudabi-run failed:" >&2
		cat "$tmp/err" >&2
		exit 1
	}
	if [ "$(grep -c 'Hello, world' "$tmp/out")" -ne 3 ]; then
		echo "test-unprivileged: hello printed:" >&2
		cat "$tmp/out" >&2
		exit 1
	fi
	warned=$(grep -c 'warning: user namespaces are not available' "$tmp/err" || true)
	if [ "$expect" = user ] && [ "$warned" -ne 0 ] || [ "$expect" = none ] && [ "$warned" -ne 1 ]; then
		echo "test-unprivileged: with round $round, cloudabi-run's warnings were:" >&2
		cat "$tmp/err" >&2
		exit 1
	fi
done
echo "test-unprivileged: ok"
