//! CMOS real-time clock, read once at boot for the wall clock.

use crate::arch::port;

fn read_register(register: u8) -> u8 {
    port::write_u8(0x70, register | 0x80); // keep NMIs disabled while selecting
    port::read_u8(0x71)
}

#[derive(PartialEq, Eq, Clone, Copy)]
struct Reading([u8; 7]);

fn update_in_progress() -> bool {
    read_register(0x0a) & 0x80 != 0
}

fn read_once() -> Reading {
    let mut spins = 0;
    while update_in_progress() && spins < 1_000_000 {
        spins += 1;
    }
    Reading([0x00, 0x02, 0x04, 0x07, 0x08, 0x09, 0x32].map(read_register))
}

pub use super::calendar::days_from_civil;

/// Reads the RTC as seconds since the Unix epoch (UTC assumed, as QEMU provides).
pub fn read_unix_seconds() -> Result<u64, &'static str> {
    let mut previous = read_once();
    let mut reading = read_once();
    let mut tries = 0;
    while reading != previous {
        previous = reading;
        reading = read_once();
        tries += 1;
        if tries > 10 {
            return Err("RTC never gave two equal readings");
        }
    }
    let status_b = read_register(0x0b);
    let binary = status_b & 0x04 != 0;
    let hour_24 = status_b & 0x02 != 0;
    let decode = |v: u8| {
        if binary {
            v
        } else {
            (v & 0x0f) + (v >> 4) * 10
        }
    };
    let [second, minute, hour_raw, day, month, year, century] = reading.0;
    let pm = hour_raw & 0x80 != 0;
    let mut hour = decode(hour_raw & 0x7f);
    if !hour_24 {
        hour %= 12;
        if pm {
            hour += 12;
        }
    }
    let century = if century != 0 && decode(century) >= 19 {
        decode(century) as i64
    } else {
        20
    };
    let (second, minute, day, month) = (decode(second), decode(minute), decode(day), decode(month));
    if !(1..=12).contains(&month)
        || !(1..=31).contains(&day)
        || hour > 23
        || minute > 59
        || second > 60
    {
        return Err("RTC holds an invalid date");
    }
    let year = century * 100 + decode(year) as i64;
    let days = days_from_civil(year, month as u32, day as u32);
    let seconds = days * 86_400 + hour as i64 * 3600 + minute as i64 * 60 + second as i64;
    u64::try_from(seconds).map_err(|_| "RTC date is before 1970")
}
