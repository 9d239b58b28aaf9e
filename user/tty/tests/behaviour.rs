//! The discipline's behaviour on its own: signals, flow control, modes, buffer limits,
//! readiness and reads, with the outcomes the kernel acts on.

use line_discipline::{Flow, LineDiscipline, ReadOutcome, Signal, BUFFER_SIZE};
use linux_abi::signal::{SIGINT, SIGQUIT, SIGTSTP};
use linux_abi::termios::*;

/// Types `bytes` and returns the echo as the device would send it.
fn type_bytes(discipline: &mut LineDiscipline, bytes: &[u8]) -> Vec<u8> {
    let mut echo = Vec::new();
    for &byte in bytes {
        let input = discipline.receive(byte);
        discipline.process_output(&input.echo, &mut echo);
    }
    echo
}

fn read_all(discipline: &mut LineDiscipline) -> Vec<u8> {
    let mut buffer = [0; 8192];
    match discipline.read(&mut buffer) {
        ReadOutcome::Data(count) => buffer[..count].to_vec(),
        other => panic!("expected data, got {other:?}"),
    }
}

fn with_modes(change: impl Fn(&mut Termios)) -> LineDiscipline {
    let mut discipline = LineDiscipline::new();
    let mut termios = discipline.termios();
    change(&mut termios);
    discipline.set_termios(termios);
    discipline
}

#[test]
fn defaults_are_linux_defaults() {
    let discipline = LineDiscipline::new();
    let termios = discipline.termios();
    assert_eq!(termios, Termios::linux_default());
    assert_eq!(termios.c_iflag, ICRNL | IXON);
    assert_eq!(termios.c_oflag, OPOST | ONLCR);
    assert_eq!(termios.c_cflag, B38400 | CS8 | CREAD);
    assert_eq!(
        termios.c_lflag,
        ISIG | ICANON | ECHO | ECHOE | ECHOK | ECHOCTL | ECHOKE | IEXTEN
    );
    assert_eq!(termios.c_cc[VINTR], 3);
    assert_eq!(termios.c_cc[VERASE], 0x7f);
    assert_eq!(termios.c_cc[VMIN], 1);
    assert_eq!(discipline.window_size(), WindowSize::default());
}

#[test]
fn signal_characters_name_the_signal_and_flush() {
    let mut discipline = LineDiscipline::new();
    type_bytes(&mut discipline, b"abc");
    let input = discipline.receive(3);
    assert_eq!(input.signal, Some(Signal::Interrupt));
    assert!(input.flushed);
    assert_eq!(input.echo, b"^C");
    assert_eq!(discipline.input_available(), 0);
    type_bytes(&mut discipline, b"x\r");
    assert_eq!(read_all(&mut discipline), b"x\n");
    assert_eq!(discipline.receive(0x1c).signal, Some(Signal::Quit));
    assert_eq!(discipline.receive(0x1a).signal, Some(Signal::Suspend));
    assert_eq!(Signal::Interrupt.number(), SIGINT);
    assert_eq!(Signal::Quit.number(), SIGQUIT);
    assert_eq!(Signal::Suspend.number(), SIGTSTP);
}

#[test]
fn noflsh_and_no_isig() {
    let mut discipline = with_modes(|t| t.c_lflag |= NOFLSH);
    type_bytes(&mut discipline, b"ab");
    let input = discipline.receive(3);
    assert_eq!(input.signal, Some(Signal::Interrupt));
    assert!(!input.flushed);
    type_bytes(&mut discipline, b"\r");
    assert_eq!(read_all(&mut discipline), b"ab\n");

    let mut discipline = with_modes(|t| t.c_lflag &= !ISIG);
    assert_eq!(discipline.receive(3).signal, None);
    type_bytes(&mut discipline, b"\r");
    assert_eq!(read_all(&mut discipline), b"\x03\n");
}

#[test]
fn flow_control_stops_and_starts_output() {
    let mut discipline = LineDiscipline::new();
    assert_eq!(discipline.receive(0x13).flow, Some(Flow::Stop));
    assert!(discipline.output_stopped());
    assert_eq!(discipline.receive(0x13).flow, None);
    assert_eq!(discipline.receive(0x11).flow, Some(Flow::Start));
    assert!(!discipline.output_stopped());
    // Stop and start characters never reach the reader.
    type_bytes(&mut discipline, b"\r");
    assert_eq!(read_all(&mut discipline), b"\n");
    // A signal character restarts output; with IXANY so does any character.
    discipline.receive(0x13);
    assert_eq!(discipline.receive(3).flow, Some(Flow::Start));
    let mut discipline = with_modes(|t| t.c_iflag |= IXANY);
    discipline.receive(0x13);
    assert_eq!(discipline.receive(b'a').flow, Some(Flow::Start));
    // Without IXON they are ordinary characters.
    let mut discipline = with_modes(|t| t.c_iflag &= !IXON);
    assert_eq!(discipline.receive(0x13).flow, None);
    assert!(!discipline.output_stopped());
}

#[test]
fn canonical_reads_one_line_at_a_time_and_split_long_lines() {
    let mut discipline = LineDiscipline::new();
    type_bytes(&mut discipline, b"one\rtwo\r");
    assert_eq!(discipline.input_available(), 8);
    let mut small = [0; 2];
    assert_eq!(discipline.read(&mut small), ReadOutcome::Data(2));
    assert_eq!(&small, b"on");
    assert_eq!(read_all(&mut discipline), b"e\n");
    assert_eq!(read_all(&mut discipline), b"two\n");
    assert_eq!(discipline.read(&mut small), ReadOutcome::WouldBlock);
    assert_eq!(discipline.read(&mut []), ReadOutcome::WouldBlock);
}

#[test]
fn end_of_file_is_one_read_of_nothing() {
    let mut discipline = LineDiscipline::new();
    type_bytes(&mut discipline, b"ab\x04\x04");
    assert_eq!(read_all(&mut discipline), b"ab");
    let mut buffer = [0; 16];
    assert_eq!(discipline.read(&mut buffer), ReadOutcome::EndOfFile);
    assert_eq!(discipline.read(&mut buffer), ReadOutcome::WouldBlock);
}

#[test]
fn readiness_and_wake_ups() {
    let mut discipline = LineDiscipline::new();
    assert!(!discipline.receive(b'a').wake_readers);
    assert!(!discipline.read_ready());
    assert!(discipline.receive(b'\r').wake_readers);
    assert!(discipline.read_ready());
    // Already readable: no second wake-up.
    assert!(!discipline.receive(b'\r').wake_readers);
    assert!(LineDiscipline::new().receive(4).wake_readers);

    let mut raw = with_modes(|t| {
        t.c_lflag &= !(ICANON | ECHO);
        t.c_cc[VMIN] = 3;
    });
    assert_eq!(raw.vmin(), 3);
    raw.receive(b'a');
    raw.receive(b'b');
    assert!(!raw.read_ready());
    assert!(raw.receive(b'c').wake_readers);
    // With VTIME set a single byte is enough (the kernel runs the timer).
    let mut timed = with_modes(|t| {
        t.c_lflag &= !ICANON;
        t.c_cc[VMIN] = 3;
        t.c_cc[VTIME] = 5;
    });
    assert_eq!(timed.vtime_deciseconds(), 5);
    assert!(timed.receive(b'a').wake_readers);
    let mut buffer = [0; 4];
    assert_eq!(timed.read(&mut buffer), ReadOutcome::Data(1));
    assert_eq!(timed.read(&mut buffer), ReadOutcome::WouldBlock);
}

#[test]
fn raw_reads_return_what_is_there() {
    let mut discipline = with_modes(|t| t.c_lflag &= !(ICANON | ECHO | ISIG));
    type_bytes(&mut discipline, b"ab\x03\x7f");
    assert_eq!(discipline.input_available(), 4);
    assert_eq!(read_all(&mut discipline), b"ab\x03\x7f");
    let mut polling = with_modes(|t| {
        t.c_lflag &= !ICANON;
        t.c_cc[VMIN] = 0;
    });
    assert_eq!(polling.read(&mut [0; 4]), ReadOutcome::Data(0));
}

#[test]
fn switching_modes_moves_pending_input() {
    let mut discipline = LineDiscipline::new();
    type_bytes(&mut discipline, b"half");
    assert_eq!(discipline.input_available(), 0);
    let mut termios = discipline.termios();
    termios.c_lflag &= !ICANON;
    discipline.set_termios(termios);
    assert!(discipline.read_ready());
    assert_eq!(discipline.input_available(), 4);
    type_bytes(&mut discipline, b"xy");
    termios.c_lflag |= ICANON;
    discipline.set_termios(termios);
    assert_eq!(read_all(&mut discipline), b"halfxy");
}

#[test]
fn buffer_limits() {
    // Canonical: 4095 characters, then the newest replaces the last; the newline still fits.
    let mut discipline = LineDiscipline::new();
    let mut line = vec![b'x'; BUFFER_SIZE + 10];
    line.push(b'y');
    type_bytes(&mut discipline, &line);
    type_bytes(&mut discipline, b"\r");
    let read = read_all(&mut discipline);
    assert_eq!(read.len(), BUFFER_SIZE);
    assert_eq!(&read[BUFFER_SIZE - 2..], b"y\n");
    // Raw: excess is dropped.
    let mut raw = with_modes(|t| t.c_lflag &= !(ICANON | ECHO));
    type_bytes(&mut raw, &[b'z'; BUFFER_SIZE + 100]);
    assert_eq!(raw.input_available(), BUFFER_SIZE - 1);
}

#[test]
fn flush_and_window_size() {
    let mut discipline = LineDiscipline::new();
    type_bytes(&mut discipline, b"line\rpartial");
    discipline.flush_input();
    assert_eq!(discipline.input_available(), 0);
    assert_eq!(discipline.read(&mut [0; 8]), ReadOutcome::WouldBlock);
    type_bytes(&mut discipline, b"\r");
    assert_eq!(read_all(&mut discipline), b"\n");
    let size = WindowSize {
        ws_row: 24,
        ws_col: 80,
        ..WindowSize::default()
    };
    assert!(discipline.set_window_size(size));
    assert!(!discipline.set_window_size(size));
    assert_eq!(discipline.window_size(), size);
}

#[test]
fn echo_details() {
    // ECHOCTL shows control characters with a caret; DEL is "^?".
    let mut discipline = LineDiscipline::new();
    assert_eq!(type_bytes(&mut discipline, b"\x01\x1b"), b"^A^[");
    let mut discipline = with_modes(|t| t.c_lflag &= !ECHOCTL);
    assert_eq!(type_bytes(&mut discipline, b"\x01"), b"\x01");
    // ECHONL echoes the newline alone.
    let mut discipline = with_modes(|t| t.c_lflag = (t.c_lflag & !ECHO) | ECHONL);
    assert_eq!(type_bytes(&mut discipline, b"ab\r"), b"\r\n");
    // Erase over a tab backs up to the previous column.
    let mut discipline = LineDiscipline::new();
    assert_eq!(
        type_bytes(&mut discipline, b"ab\t\x7f"),
        b"ab\t\x08\x08\x08\x08\x08\x08"
    );
}

#[test]
fn output_processing() {
    let discipline = LineDiscipline::new();
    let mut out = Vec::new();
    discipline.process_output(b"a\nb", &mut out);
    assert_eq!(out, b"a\r\nb");
    let discipline = with_modes(|t| t.c_oflag |= OCRNL | ONOCR);
    let mut out = Vec::new();
    discipline.process_output(b"\rx\r", &mut out);
    assert_eq!(out, b"x\n");
    let discipline = with_modes(|t| t.c_oflag &= !OPOST);
    let mut out = Vec::new();
    discipline.process_output(b"a\n", &mut out);
    assert_eq!(out, b"a\n");
}
