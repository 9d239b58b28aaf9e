//! What the user-space scenarios run: the input files (generated, the same bytes every time),
//! the busybox command lines and the bash scripts.
//!
//! Every line runs with `/bin/busybox sh -c LINE` in a working directory holding the inputs, on
//! the host and in the guest (there on a native ext2 mount), one after the other in this order
//! and in the same directory, so a line that writes a file uses a name no earlier line reads.
//! Paths are relative; nothing depends on the wall clock beyond the year, on process ids or on
//! the host's /etc.
//!
//! Left out because they cannot match: `ps`, `uptime`, `free`, `df`, `mount` (the host's and the
//! guest's machines differ by design), `id`, `whoami`, `ls -l` with owners (the host resolves
//! names through its /etc/passwd, the guest has none), `uname`, `hostname`, anything with mtimes
//! (`ls -lt`, `tar tv`, `find -newer`: the initrd's times are fixed, the host's are not) and
//! `du`/`ls -s` (block counts depend on the file system).

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

/// The busybox command lines (at least 40, issue 17's acceptance list).
pub(super) const BUSYBOX_LINES: &[&str] = &[
    "cat words.txt | wc -l",
    "wc words.txt numbers.txt data.csv",
    "wc -c < blob.bin; cksum blob.bin",
    "sort words.txt | uniq -c | sort -k1,1nr -k2 | head -n 15",
    "sort -n numbers.txt | head -n 5; sort -rn numbers.txt | tail -n 3",
    "sort -u words.txt | wc -l; sort words.txt | uniq -d | head -n 4",
    "sort -t, -k4,4n -k1,1 data.csv | head -n 8",
    "grep -r needle tree | sort",
    "grep -rl needle tree | sort; grep -rL needle tree | sort",
    "grep -c the large.txt; grep -v -c e words.txt; grep -ci ALPHA words.txt",
    "grep -n -E '^(alpha|omega) ' words.txt | head",
    "grep -w -o 'delta [a-z]*' words.txt | sort | uniq -c",
    "find tree -type f | sort",
    "find tree -type d | sort; find tree -empty | sort",
    "find tree -name '*.c' -o -name '*.h' | sort | xargs wc -l",
    "find tree -type f -print0 | sort -z | xargs -0 md5sum",
    "find tree -name '*.txt' | sort | xargs -n 2 echo pair:",
    "sed -n '10,20p' words.txt",
    "sed 's/alpha/ALPHA/g; s/ *$//' words.txt | md5sum",
    "sed -e '/^$/d' -e '3,$d' -e 's/\\([a-z]*\\) \\([a-z]*\\)/\\2 \\1/' words.txt",
    "sed -n '$=' large.txt; sed -n '/needle/{=;p}' tree/docs/readme.txt",
    "awk -F, 'NR > 1 { sum[$3] += $4; n[$3]++ } END { for (c in sum) printf \"%s %d %.2f\\n\", c, sum[c], sum[c] / n[c] }' data.csv | sort",
    "awk '{ for (i = 1; i <= NF; i++) w[$i]++ } END { for (k in w) print w[k], k }' words.txt | sort -k1,1nr -k2 | head",
    "awk 'length($0) > 30 { n++ } END { print n + 0, NR }' words.txt",
    "cut -d, -f2,4 data.csv | head -n 12; cut -c1-12 large.txt | tail -n 5",
    "tr a-z A-Z < words.txt | head -n 5; tr -d '\\n' < numbers.txt | wc -c",
    "tr -s ' ' < words.txt | md5sum; tr -cd 'aeiou' < words.txt | wc -c",
    "head -n 3 words.txt; tail -n 2 words.txt; head -c 64 large.txt; tail -c 40 large.txt",
    "head -c 256 blob.bin | hexdump -C",
    "head -c 48 blob.bin | od -A x -t x1; echo hello | od -c",
    "md5sum blob.bin large.txt words.txt; sha1sum blob.bin; sha256sum large.txt",
    "dd if=blob.bin bs=4096 skip=10 count=5 2>/dev/null | md5sum",
    "dd if=/dev/zero bs=1024 count=64 2>/dev/null | md5sum; head -c 1000 /dev/null | wc -c",
    "seq 1 1000 | awk '{ s += $1 } END { print s }'; seq 5 -1 1; seq -s, 1 10; seq -w 8 12",
    "date +%Y | wc -c; date -u -d @86400 '+%Y-%m-%d %H:%M:%S'; date -u -d @1700000000",
    "sh -c 'sh -c \"echo nested \\$((6 * 7))\"; echo outer $?'",
    "sh -c 'exit 3'; echo status $?; (exit 4); echo subshell $?; false || echo or-else",
    "printf '%5s|%-5s|%05d|%x|%o|%c|%s\\n' ab cd 42 255 8 xyz 'two words'",
    "expr 7 \\* 6; expr length hello; expr substr abcdef 2 3; expr 10 / 3; expr 3 \\< 5",
    "test -f words.txt && echo file; test -d tree && echo dir; [ -e nothing ] || echo absent; [ 3 -lt 10 ] && echo lt; [ abc = abc ] && echo equal",
    "cat <<EOF\nhere-document $((1 + 2)) in $(echo sh)\n\ttabbed\nEOF\ncat <<'EOF'\nquoted $HOME stays\nEOF",
    "while read a b c; do echo \"$c|$b|$a\"; done <<EOF\none two three\nfour five six seven\nEOF",
    "cat large.txt",
    "cat large.txt | md5sum; wc -c < large.txt",
    "ls -1 tree; ls -1R tree/src; ls -1a tree/docs",
    // Files only: a directory's size belongs to its file system (the host's is not ext2).
    "ls -ln tree/src/lib tree/docs/*.txt | awk 'NF > 2 { print $1, $5, $NF } NF <= 1'",
    "tar cf - tree | tar tf - | sort",
    "tar cf - tree words.txt | tar xOf - tree/docs/readme.txt; tar cf - tree | wc -c",
    "gzip -c < large.txt | wc -c; gzip -c < large.txt | gunzip | md5sum",
    "for i in 1 2 3; do echo $i; done | tac; yes hello | head -n 3",
    "echo $((2 ** 10)) $((17 % 5)) $(( (3 + 4) * 5 )) $((0x10 + 010))",
    "basename tree/src/lib/util.c .c; dirname tree/src/lib/util.c; echo hello | rev",
    "stat -c '%n %s %F' words.txt blob.bin; stat -c '%n %F' tree",
    "cat missing words.txt | head -n 1; echo status $?; ls nothing; echo ls $?",
    "env -i A=1 B='two words' env | sort; echo \"${HOME:-unset} ${UNSET_VAR:-default}\"",
    "sh -c 'trap \"echo trapped\" EXIT; echo body'; sh -c 'set -- a b c; shift; echo $# $@'",
    "nl -ba words.txt | tail -n 3; fold -w 20 large.txt | head -n 4; paste -d: numbers.txt numbers.txt | head -n 3",
    "cmp words.txt words.txt && echo same; cmp words.txt large.txt; echo cmp $?",
    "base64 words.txt | head -n 3; head -c 300 blob.bin | base64 | base64 -d | md5sum",
    "mkdir -p roundtrip && tar cf - tree | (cd roundtrip && tar xf -) && diff -r tree roundtrip/tree && echo identical && find roundtrip | sort",
    "seq 1 50 > seq.txt; sed -i 's/^1/one/' seq.txt; md5sum seq.txt; tail -n 3 seq.txt",
    "echo first > redirect.txt; echo second >> redirect.txt; cat missing redirect.txt 2>err.txt; echo status $?; cat err.txt",
    "cp words.txt copy.txt && cmp words.txt copy.txt && echo same; mv copy.txt moved.txt; ls -1 copy.txt moved.txt; rm moved.txt; ls -1 moved.txt; echo $?",
    "dd if=blob.bin of=part.bin bs=512 count=100 skip=3 2>/dev/null; wc -c part.bin; md5sum part.bin",
    "sort words.txt > sorted.txt; sort -u words.txt > unique.txt; comm -3 sorted.txt unique.txt | head -n 5",
    "mkdir -p made/a/b && touch made/a/b/empty && echo text > made/a/file && find made | sort && rm -r made && ls made; echo gone $?",
    "gzip -c < blob.bin > blob.gz && gunzip -c blob.gz | cmp - blob.bin && echo gzip ok; ln -s words.txt link.txt; head -n 2 link.txt; readlink link.txt",
    "printf 'a\\nb\\n' > two.txt; cat two.txt two.txt > four.txt; wc -l four.txt; truncate -s 3 four.txt; od -c four.txt",
];

/// The bash scenario's command lines; `bash` is the guest's /bin/bash and the host's
/// /bin/bash-static (the host's PATH names it `bash`).
pub(super) const BASH_LINES: &[&str] = &[
    "bash script.bash alpha 'beta gamma' delta",
    "bash errexit.bash; echo status $?",
    "printf 'one two\\nthree four\\n' | bash -c 'while read -r x y; do echo \"$y:$x\"; done; echo done'",
];

/// Writes the busybox scenario's inputs into `directory`: text files, a CSV table, a few
/// hundred KiB of text and of binary data, and a nested tree with an empty directory.
pub(super) fn busybox_inputs(directory: &Path) -> Result<(), String> {
    let mut random = Random(0x2545_f491);
    let vocabulary = [
        "alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta", "iota", "kappa",
        "lambda", "mu", "the", "needle", "haystack", "omega", "river", "stone", "tree", "light",
    ];
    let mut words = String::new();
    for _ in 0..400 {
        let count = 1 + random.below(6);
        let line: Vec<&str> = (0..count)
            .map(|_| vocabulary[random.below(vocabulary.len())])
            .collect();
        words.push_str(&line.join(" "));
        if random.below(9) == 0 {
            words.push_str("  ");
        }
        words.push('\n');
        if random.below(25) == 0 {
            words.push('\n');
        }
    }
    let mut numbers = String::new();
    for _ in 0..200 {
        let value = random.below(2000) as i64 - 500;
        numbers.push_str(&format!("{value}\n"));
    }
    let cities = ["Oslo", "Lima", "Pune", "Nice", "Kobe", "Graz"];
    let mut data = String::from("id,name,city,score\n");
    for id in 1..=150 {
        let name: String = (0..5)
            .map(|_| (b'a' + random.below(26) as u8) as char)
            .collect();
        let city = cities[random.below(cities.len())];
        data.push_str(&format!("{id},{name},{city},{}\n", random.below(100)));
    }
    let mut large = String::new();
    let mut record = 0;
    while large.len() < 300_000 {
        let word = vocabulary[random.below(vocabulary.len())];
        large.push_str(&format!(
            "record {record:06} {word} value {} the end\n",
            random.below(1_000_000)
        ));
        record += 1;
    }
    let blob: Vec<u8> = (0..256 * 1024)
        .map(|_| (random.next() >> 24) as u8)
        .collect();
    let files: &[(&str, &[u8])] = &[
        ("words.txt", words.as_bytes()),
        ("numbers.txt", numbers.as_bytes()),
        ("data.csv", data.as_bytes()),
        ("large.txt", large.as_bytes()),
        ("blob.bin", &blob),
        (
            "tree/docs/readme.txt",
            b"a readme\nwith a needle inside\nand more\n",
        ),
        ("tree/docs/notes/todo.txt", b"nothing here\n"),
        ("tree/docs/notes/idea.txt", b"needle again\nneedle twice\n"),
        (
            "tree/src/main.c",
            b"int main(void)\n{\n\treturn 0; /* needle */\n}\n",
        ),
        (
            "tree/src/lib/util.c",
            b"#include \"util.h\"\nint twice(int x) { return 2 * x; }\n",
        ),
        ("tree/src/lib/util.h", b"int twice(int x);\n"),
        ("tree/deep/1/2/3/4/leaf.txt", b"the deepest leaf\n"),
        (
            "tree/file with spaces.txt",
            b"spaces in the name, and a needle\n",
        ),
    ];
    write_files(directory, files)?;
    make_directory(&directory.join("tree/empty"))
}

/// Writes the bash scenario's inputs (the two scripts) into `directory`.
pub(super) fn bash_inputs(directory: &Path) -> Result<(), String> {
    write_files(
        directory,
        &[
            ("script.bash", SCRIPT.as_bytes()),
            ("errexit.bash", ERREXIT.as_bytes()),
        ],
    )
}

/// Creates each file (and its parents) with mode 0644, directories 0755, whatever the umask.
fn write_files(directory: &Path, files: &[(&str, &[u8])]) -> Result<(), String> {
    for (name, bytes) in files {
        let path = directory.join(name);
        if let Some(parent) = path.parent() {
            make_directory(parent)?;
        }
        std::fs::write(&path, bytes).map_err(|e| format!("{}: {e}", path.display()))?;
        std::fs::set_permissions(&path, PermissionsExt::from_mode(0o644))
            .map_err(|e| format!("{}: {e}", path.display()))?;
    }
    Ok(())
}

fn make_directory(path: &Path) -> Result<(), String> {
    std::fs::create_dir_all(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut walk = Some(path);
    while let Some(directory) = walk {
        if directory.as_os_str().is_empty() || directory == Path::new("/") {
            break;
        }
        let mode = std::fs::metadata(directory).map(|m| m.permissions().mode() & 0o7777);
        if mode.is_ok_and(|m| m == 0o755) {
            break;
        }
        std::fs::set_permissions(directory, PermissionsExt::from_mode(0o755))
            .map_err(|e| format!("{}: {e}", directory.display()))?;
        walk = directory.parent();
    }
    Ok(())
}

/// A fixed-seed linear congruential generator: the inputs are the same bytes on every run.
struct Random(u64);

impl Random {
    fn next(&mut self) -> u32 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 32) as u32
    }

    fn below(&mut self, limit: usize) -> usize {
        self.next() as usize % limit
    }
}

/// The bash script: functions and recursion, indexed and associative arrays, `$(...)`,
/// here-documents, `trap ... EXIT`, subshells, arithmetic, `read` from a here-document and a
/// pipe, `case`, string operations, `printf -v`, `mapfile`, `getopts`, `local`, and process
/// substitution (`<(...)`, which bash opens as `/dev/fd/N`).
const SCRIPT: &str = r#"#!/bin/bash
trap 'echo "exit trap: status $?"' EXIT

factorial() {
    local n=$1
    if (( n <= 1 )); then echo 1; else echo $(( n * $(factorial $((n - 1))) )); fi
}
greet() { printf 'hello, %s!\n' "${1:-nobody}"; return 3; }

echo "arguments: $# [$*]"
for argument in "$@"; do echo "  <$argument>"; done
greet "world"; echo "greet returned $?"
echo "10! = $(factorial 10)"

fruits=(apple banana "cherry pie" date)
fruits+=(elderberry)
echo "count ${#fruits[@]}, third '${fruits[2]}', slice ${fruits[*]:1:2}"
for index in "${!fruits[@]}"; do printf '%d=%s;' "$index" "${fruits[index]}"; done; echo
declare -A colour=([sky]=blue [grass]=green [sun]=yellow)
for key in $(printf '%s\n' "${!colour[@]}" | sort); do echo "$key is ${colour[$key]}"; done

text="The quick brown fox jumps over the lazy dog"
echo "length ${#text}"
echo "upper ${text^^}"
echo "lower ${text,,}"
echo "substring '${text:4:5}' tail '${text: -3}'"
echo "replace ${text/quick/slow} all ${text//o/0}"
path=/usr/local/lib/libthing.so.1.2
echo "prefix ${path#*/} longest ${path##*/} suffix ${path%.*} longest ${path%%.*}"
unset missing; echo "default ${missing:-fallback} alternate ${text:+set}"

(( total = 0 ))
for (( i = 1; i <= 10; i++ )); do (( i % 2 == 0 )) && continue; (( total += i * i )); done
echo "odd squares $total, hex $((16#ff)), binary $((2#1011)), power $((3 ** 4)), shift $((1 << 10))"
let "x = 7 * 6" "y = x / 5"; echo "let $x $y"

outer=outside
( outer=inside; echo "subshell sees $outer"; exit 5 ); echo "subshell status $?, outer $outer"
{ echo "group one"; echo "group two"; } | while read -r line; do echo "piped: $line"; done
result=$(echo "command substitution"; echo "two lines")
echo "captured [$result]"

while IFS=: read -r name id shell; do
    echo "user $name has id $id and shell $shell"
done <<EOF
root:0:/bin/sh
daemon:1:/usr/sbin/nologin
guest:$((1000 + 1)):/bin/bash
EOF
cat <<'EOF'
a quoted here-document keeps $text and $(date)
EOF
cat <<-EOF
	tabs stripped, $((2 + 2)) expanded
	EOF

for word in apple 42 -7 Hello x.txt ""; do
    case $word in
        [0-9]*) kind=number ;;
        -[0-9]*) kind=negative ;;
        *.txt) kind="text file" ;;
        [A-Z]*) kind=capitalised ;;
        "") kind=empty ;;
        *) kind=word ;;
    esac
    echo "'$word' is $kind"
done

printf -v padded '%08.3f' 3.14159; echo "printf -v $padded"
mapfile -t lines <<EOF
first
second
third
EOF
echo "mapfile ${#lines[@]} last ${lines[-1]}"
mapfile -t substituted < <(printf 'one\ntwo\n')
echo "substituted ${#substituted[@]} ${substituted[1]}"
while read -r word; do echo "from <(): $word"; done < <(echo alpha; echo beta)
set -- -a -b value rest
while getopts 'ab:' option; do echo "option $option ${OPTARG:-}"; done
shift $((OPTIND - 1)); echo "remaining $*"
[[ "abc123" =~ ^([a-z]+)([0-9]+)$ ]] && echo "regex ${BASH_REMATCH[1]} ${BASH_REMATCH[2]}"
[[ -f script.bash && ! -d script.bash ]] && echo "test operators"
counter() { local -i count=0; while (( count < 3 )); do (( count++ )); done; echo "counter $count"; }
counter
echo "${BASH_VERSINFO[0]}.${BASH_VERSINFO[1]}" | grep -q '^[0-9]' && echo "bash version numbers"
exit 0
"#;

/// `set -e`, `trap ... ERR` and an exit status chosen by the EXIT trap's body.
const ERREXIT: &str = r#"set -e
trap 'echo "error trap at line $LINENO"' ERR
trap 'echo "leaving with $?"' EXIT
echo start
value=$( (exit 0) && echo fine)
echo "value $value"
if false; then echo never; fi
false || echo "handled failure"
check() { [ "$1" -gt 2 ]; }
check 5 && echo "five is big"
(exit 7)
echo "not reached"
"#;
