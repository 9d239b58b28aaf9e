//! The discipline against a Linux pseudo-terminal as a reference peer.
//!
//! Each scenario sets the same modes on a fresh host pty (through tests/pty_peer.py) and on a
//! `LineDiscipline`, types the same bytes, and compares the echo the terminal sends back, the
//! successive non-blocking reads, and the processing of bytes a program writes. Without
//! python3 or a usable /dev/ptmx the test prints `SKIPPED:` and passes.

use std::io::Write;
use std::process::{Command, Stdio};

use line_discipline::{LineDiscipline, ReadOutcome};
use linux_abi::termios::*;

struct Scenario {
    name: &'static str,
    termios: Termios,
    typed: Vec<u8>,
    written: Vec<u8>,
}

fn scenario(name: &'static str, change: impl Fn(&mut Termios), typed: &[u8]) -> Scenario {
    let mut termios = Termios::linux_default();
    change(&mut termios);
    Scenario {
        name,
        termios,
        typed: typed.to_vec(),
        written: Vec::new(),
    }
}

fn raw(termios: &mut Termios) {
    termios.c_lflag &= !(ICANON | ECHO | ISIG | IEXTEN);
}

fn scenarios() -> Vec<Scenario> {
    let mut list = vec![
        scenario("a line", |_| {}, b"hello\r"),
        scenario("two lines, two reads", |_| {}, b"one\rtwo\r"),
        scenario("erase", |_| {}, b"abc\x7f\x7fd\r"),
        scenario("erase on an empty line", |_| {}, b"\x7f\x7fa\r"),
        scenario("erase a control character", |_| {}, b"a\x01\x7f\r"),
        scenario(
            "erase a control character without echoctl",
            |t| t.c_lflag &= !ECHOCTL,
            b"a\x01\x7f\r",
        ),
        scenario("erase tabs", |_| {}, b"ab\tc\t\x7f\x7f\x7fx\r"),
        scenario(
            "erase without echoe",
            |t| t.c_lflag &= !ECHOE,
            b"abc\x7f\x7f\r",
        ),
        scenario("kill, visually", |_| {}, b"hello\x15bye\r"),
        scenario(
            "kill without echoke",
            |t| t.c_lflag &= !ECHOKE,
            b"hello\x15bye\r",
        ),
        scenario(
            "kill without echok",
            |t| t.c_lflag &= !(ECHOK | ECHOKE),
            b"hello\x15bye\r",
        ),
        scenario("word erase", |_| {}, b"foo bar  \x17x\r"),
        scenario("word erase twice", |_| {}, b"foo_1 bar.baz \x17\x17\x17y\r"),
        scenario("end of file at line start", |_| {}, b"\x04"),
        scenario("end of file after text", |_| {}, b"abc\x04"),
        scenario("end of file twice", |_| {}, b"abc\x04\x04"),
        scenario("literal next", |_| {}, b"\x16\x03\x16\x7f\r"),
        scenario("reprint", |_| {}, b"ab\x01c\x12"),
        scenario("interrupt flushes", |_| {}, b"abc\x03def\r"),
        scenario("quit and suspend", |_| {}, b"a\x1cb\x1ac\r"),
        scenario(
            "noflsh keeps input",
            |t| t.c_lflag |= NOFLSH,
            b"abc\x03def\r",
        ),
        scenario("no isig", |t| t.c_lflag &= !ISIG, b"a\x03\r"),
        scenario(
            "echonl without echo",
            |t| t.c_lflag = (t.c_lflag & !ECHO) | ECHONL,
            b"ab\r",
        ),
        scenario("no echo", |t| t.c_lflag &= !ECHO, b"secret\r"),
        scenario("eol", |t| t.c_cc[VEOL] = b';', b"ab;cd\r"),
        scenario("eol2 needs iexten", |t| t.c_cc[VEOL2] = b';', b"ab;cd\r"),
        scenario("igncr", |t| t.c_iflag |= IGNCR, b"a\rb\n"),
        scenario("no icrnl", |t| t.c_iflag &= !ICRNL, b"ab\rc\n"),
        scenario("istrip", |t| t.c_iflag |= ISTRIP, b"\xe1\xe2\r"),
        scenario("utf-8 erase", |t| t.c_iflag |= IUTF8, "aé\x7f\r".as_bytes()),
        scenario(
            "byte erase without iutf8",
            |t| t.c_iflag &= !IUTF8,
            "aé\x7f\r".as_bytes(),
        ),
        scenario("flow control", |_| {}, b"a\x13b\x11c\r"),
        scenario("raw", raw, b"ab\x03\x7f\r\n"),
        scenario("raw with echo", |t| t.c_lflag &= !ICANON, b"a\x01\r\n\t"),
        scenario(
            "raw, inlcr",
            |t| {
                raw(t);
                t.c_iflag = (t.c_iflag & !ICRNL) | INLCR;
            },
            b"a\nb\r",
        ),
        scenario(
            "raw, vmin 0",
            |t| {
                raw(t);
                t.c_cc[VMIN] = 0;
            },
            b"xyz",
        ),
        scenario("long line", |_| {}, &[b'x'; 5000]),
        scenario("long line, then newline", |_| {}, &{
            let mut line = vec![b'y'; 4200];
            line.push(b'\r');
            line
        }),
    ];
    for (name, change, written) in [
        (
            "onlcr",
            (|_: &mut Termios| {}) as fn(&mut Termios),
            &b"a\nb\r\n"[..],
        ),
        ("no opost", |t| t.c_oflag &= !OPOST, b"a\nb\r\n"),
        ("ocrnl", |t| t.c_oflag |= OCRNL, b"a\rb\n"),
        ("onocr", |t| t.c_oflag |= ONOCR, b"\rab\r\r\ncd\r"),
        (
            "onlret",
            |t| t.c_oflag = (t.c_oflag & !ONLCR) | ONLRET | ONOCR,
            b"ab\n\rc",
        ),
        ("xtabs", |t| t.c_oflag |= XTABS, b"a\tbc\t\x08\td\n\t"),
    ] {
        let mut output = scenario(name, change, b"");
        output.written = written.to_vec();
        list.push(output);
    }
    list
}

/// What one scenario produced: echo, reads, processed output.
type Outcome = (Vec<u8>, Vec<String>, Vec<u8>);

fn run_discipline(scenario: &Scenario) -> Outcome {
    let mut discipline = LineDiscipline::new();
    discipline.set_termios(scenario.termios);
    let mut echo = Vec::new();
    for &byte in &scenario.typed {
        let input = discipline.receive(byte);
        discipline.process_output(&input.echo, &mut echo);
    }
    let mut reads = Vec::new();
    let mut buffer = [0; 4096];
    for _ in 0..64 {
        match discipline.read(&mut buffer) {
            ReadOutcome::Data(0) => {
                // Raw mode with VMIN 0: a read returns 0 at once when nothing is there.
                reads.push("EOF".to_string());
                break;
            }
            ReadOutcome::Data(count) => reads.push(hex(&buffer[..count])),
            ReadOutcome::EndOfFile => reads.push("EOF".to_string()),
            ReadOutcome::WouldBlock => break,
        }
    }
    let mut output = Vec::new();
    discipline.process_output(&scenario.written, &mut output);
    (echo, reads, output)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

fn unhex(text: &str) -> Vec<u8> {
    if text == "-" {
        return Vec::new();
    }
    (0..text.len())
        .step_by(2)
        .map(|index| u8::from_str_radix(&text[index..index + 2], 16).unwrap())
        .collect()
}

fn run_host(scenarios: &[Scenario]) -> Option<Vec<Outcome>> {
    if !std::path::Path::new("/dev/ptmx").exists() {
        println!("SKIPPED: no /dev/ptmx on this host");
        return None;
    }
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/pty_peer.py");
    let Ok(mut child) = Command::new("python3")
        .arg(script)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
    else {
        println!("SKIPPED: no python3 on this host");
        return None;
    };
    let mut request = String::new();
    for scenario in scenarios {
        let termios = scenario.termios;
        let typed = if scenario.typed.is_empty() {
            "-".into()
        } else {
            hex(&scenario.typed)
        };
        let written = if scenario.written.is_empty() {
            "-".into()
        } else {
            hex(&scenario.written)
        };
        request.push_str(&format!(
            "{} {} {} {} {} {typed} {written}\n",
            termios.c_iflag,
            termios.c_oflag,
            termios.c_cflag,
            termios.c_lflag,
            hex(&termios.c_cc[..17]),
        ));
    }
    child
        .stdin
        .take()
        .unwrap()
        .write_all(request.as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    if !output.status.success() {
        println!(
            "SKIPPED: the pty peer failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        return None;
    }
    let text = String::from_utf8(output.stdout).unwrap();
    let outcomes: Vec<Outcome> = text
        .lines()
        .map(|line| {
            let fields: Vec<&str> = line.split(' ').collect();
            let reads = if fields[1] == "-" {
                Vec::new()
            } else {
                fields[1].split(',').map(str::to_string).collect()
            };
            (unhex(fields[0]), reads, unhex(fields[2]))
        })
        .collect();
    assert_eq!(outcomes.len(), scenarios.len());
    Some(outcomes)
}

#[test]
fn behaves_like_a_linux_pty() {
    let scenarios = scenarios();
    let Some(mut host) = run_host(&scenarios) else {
        return;
    };
    let ours: Vec<Outcome> = scenarios.iter().map(run_discipline).collect();
    // Linux's pty hands input to its line discipline from a worker thread, and the peer
    // paces typed bytes with short sleeps: on a loaded host a byte can be taken late and
    // the reference itself changes. A difference counts only if the host shows it again.
    for _ in 0..2 {
        if ours.iter().zip(&host).all(|(ours, linux)| ours == linux) {
            break;
        }
        let Some(again) = run_host(&scenarios) else {
            return;
        };
        for ((linux, repeated), ours) in host.iter_mut().zip(again).zip(&ours) {
            if repeated == *ours {
                *linux = repeated;
            }
        }
    }
    let mut differences = Vec::new();
    for ((scenario, linux), ours) in scenarios.iter().zip(host).zip(&ours) {
        if *ours != linux {
            differences.push(format!(
                "{}:\n  echo   ours {:?}\n         linux {:?}\n  reads  ours {:?}\n         linux {:?}\n  output ours {:?}\n         linux {:?}",
                scenario.name,
                String::from_utf8_lossy(&ours.0),
                String::from_utf8_lossy(&linux.0),
                ours.1.iter().map(|r| shorten(r)).collect::<Vec<_>>(),
                linux.1.iter().map(|r| shorten(r)).collect::<Vec<_>>(),
                String::from_utf8_lossy(&ours.2),
                String::from_utf8_lossy(&linux.2),
            ));
        }
    }
    assert!(differences.is_empty(), "{}", differences.join("\n"));
    println!("{} scenarios behave as the host's pty", scenarios.len());
}

fn shorten(read: &str) -> String {
    if read.len() > 40 {
        format!("{}..({} hex chars)", &read[..40], read.len())
    } else {
        read.to_string()
    }
}

#[test]
fn fresh_pty_modes_are_the_default() {
    let Ok(output) = Command::new("python3")
        .args([
            "-c",
            "import pty, termios\nm, s = pty.openpty()\na = termios.tcgetattr(s)\n\
             print(*a[:4], *[c[0] if isinstance(c, bytes) else c for c in a[6][:17]])",
        ])
        .output()
    else {
        println!("SKIPPED: no python3 on this host");
        return;
    };
    if !output.status.success() {
        println!(
            "SKIPPED: no pty: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        return;
    }
    let values: Vec<u32> = String::from_utf8(output.stdout)
        .unwrap()
        .split_whitespace()
        .map(|value| value.parse().unwrap())
        .collect();
    let ours = Termios::linux_default();
    assert_eq!(
        values[..4],
        [ours.c_iflag, ours.c_oflag, ours.c_cflag, ours.c_lflag]
    );
    let characters: Vec<u32> = ours.c_cc[..17].iter().map(|&c| u32::from(c)).collect();
    assert_eq!(values[4..], characters[..]);
}
