#!/bin/sh
# Builds the fuzz seed corpus (small valid ext2 images) with mke2fs; needs e2fsprogs.
set -eu
here=$(dirname "$0")
tree=$(mktemp -d)
trap 'rm -rf "$tree"' EXIT
mkdir -p "$tree/dir/sub" "$here/corpus/mount_read"
echo hello > "$tree/small"
head -c 20000 /dev/zero | tr '\0' 'z' > "$tree/dir/data"
ln -s small "$tree/fast"
ln -s "$(printf 'x%.0s' $(seq 1 80))" "$tree/dir/slow"
for index in 1 2 3 4 5 6 7 8; do echo "$index" > "$tree/dir/sub/f$index"; done
mke2fs -q -F -t ext2 -b 1024 -N 32 -d "$tree" "$here/corpus/mount_read/seed-1k.img" 128K
mke2fs -q -F -t ext2 -b 1024 -r 0 -N 32 -d "$tree" "$here/corpus/mount_read/seed-rev0.img" 128K
# A hash-indexed directory: e2fsck -D indexes a multi-block directory that mke2fs -d left linear.
indexed=$(mktemp -d)
trap 'rm -rf "$tree" "$indexed"' EXIT
mkdir -p "$indexed/indexed"
for index in $(seq 1 120); do : > "$indexed/indexed/name-with-a-longer-tail-$index"; done
ln -s indexed/name-with-a-longer-tail-7 "$indexed/link"
seed="$here/corpus/mount_read/seed-htree.img"
mke2fs -q -F -t ext2 -b 1024 -N 160 -d "$indexed" "$seed" 192K
e2fsck -fyD "$seed" >/dev/null || [ $? -lt 4 ]
