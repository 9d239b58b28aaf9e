# Reference peer for the line-discipline tests: runs each scenario on a fresh pseudo-terminal
# of the host and prints what Linux did.
#
# Input, one scenario per line: iflag oflag cflag lflag (decimal), the 17 control characters
# (hex), the bytes typed (hex or "-"), the bytes a program then writes (hex or "-").
# Output, one line per scenario: the bytes the terminal sent back while typing (echo), the
# successive non-blocking reads ("EOF" for a zero-length read), the bytes sent for the write.
import os
import pty
import select
import sys
import termios
import time


def drain(fd):
    """Everything the master side receives until it has been quiet for a while."""
    data = b""
    while select.select([fd], [], [], 0.1)[0]:
        try:
            chunk = os.read(fd, 65536)
        except OSError:
            break
        if not chunk:
            break
        data += chunk
    return data


def unhex(text):
    return b"" if text == "-" else bytes.fromhex(text)


for line in sys.stdin:
    iflag, oflag, cflag, lflag, characters, typed, written = line.split()
    master, slave = pty.openpty()
    modes = termios.tcgetattr(slave)
    modes[0:4] = [int(iflag), int(oflag), int(cflag), int(lflag)]
    for index, value in enumerate(bytes.fromhex(characters)):
        modes[6][index] = bytes([value])
    termios.tcsetattr(slave, termios.TCSANOW, modes)
    typed = unhex(typed)
    if len(typed) <= 64:
        # One byte at a time, as from a serial port: each byte's echo leaves before the next
        # arrives (a signal character flushes echo still pending).
        for byte in typed:
            os.write(master, bytes([byte]))
            time.sleep(0.005)
    else:
        for start in range(0, len(typed), 1024):
            os.write(master, typed[start:start + 1024])
    echo = drain(master)
    os.set_blocking(slave, False)
    reads = []
    for _ in range(64):
        try:
            chunk = os.read(slave, 4096)
        except BlockingIOError:
            break
        reads.append(chunk.hex() if chunk else "EOF")
        if not chunk and not int(lflag) & termios.ICANON:
            break  # raw mode with VMIN 0: every further read returns 0 too
    written = unhex(written)
    output = b""
    if written:
        os.write(slave, written)
        output = drain(master)
    print(echo.hex() or "-", ",".join(reads) or "-", output.hex() or "-", flush=True)
    os.close(slave)
    os.close(master)
