//! Pax extended header records (POSIX.1-2001 `pax` interchange format, section "pax Extended
//! Header"): `"<length> <key>=<value>\n"` records and the header fields they override.
//!
//! Keys read: `path`, `linkpath`, `size`, `uid`, `gid`, `mtime`; GNU tar's `GNU.sparse.*` keys
//! are handed to `sparse.rs`; other keys are ignored. Framing errors and an unreadable `size`
//! are returned (the caller cannot know where the next header is); unreadable metadata values
//! are read as GNU tar 1.34 reads them, with a note.

use alloc::vec::Vec;

use crate::error::DiagnosticKind;
use crate::sparse::PaxSparse;

/// Values from pax headers (or GNU long-name headers) that override header fields.
#[derive(Clone, Default)]
pub(crate) struct Overrides<'d> {
    pub(crate) path: Option<&'d [u8]>,
    pub(crate) link: Option<&'d [u8]>,
    pub(crate) size: Option<u64>,
    pub(crate) uid: Option<u64>,
    pub(crate) gid: Option<u64>,
    pub(crate) mtime: Option<i64>,
}

impl<'d> Overrides<'d> {
    /// Applies `self` on top of `base` (the per-file values win over the global ones).
    pub(crate) fn over(&self, base: &Overrides<'d>) -> Overrides<'d> {
        Overrides {
            path: self.path.or(base.path),
            link: self.link.or(base.link),
            size: self.size.or(base.size),
            uid: self.uid.or(base.uid),
            gid: self.gid.or(base.gid),
            mtime: self.mtime.or(base.mtime),
        }
    }
}

/// Parses pax records (`"<length> <key>=<value>\n"`, length counting the whole record).
///
/// GNU tar's sparse records go to `sparse` (a per-file header; a global one ignores them).
/// An unreadable `mtime`, `uid` or `gid` is read as GNU tar does (see `pax_mtime`, `pax_id`)
/// with a note; other errors are returned.
pub(crate) fn parse_pax<'d>(
    mut records: &'d [u8],
    into: &mut Overrides<'d>,
    mut sparse: Option<&mut PaxSparse<'d>>,
    notes: &mut Vec<DiagnosticKind>,
) -> Result<(), ()> {
    while !records.is_empty() {
        let space = records.iter().position(|&byte| byte == b' ').ok_or(())?;
        let length = decimal(&records[..space]).ok_or(())?;
        let length = usize::try_from(length).map_err(|_| ())?;
        if length <= space + 1 || length > records.len() || records[length - 1] != b'\n' {
            return Err(());
        }
        let record = &records[space + 1..length - 1];
        records = &records[length..];
        let equals = record.iter().position(|&byte| byte == b'=').ok_or(())?;
        let (key, value) = (&record[..equals], &record[equals + 1..]);
        if sparse
            .as_deref_mut()
            .is_some_and(|sparse| sparse.record(key, value))
        {
            continue;
        }
        match key {
            b"path" => into.path = optional(value, Some)?,
            b"linkpath" => into.link = optional(value, Some)?,
            b"size" => into.size = optional(value, decimal)?,
            b"uid" => pax_id(&mut into.uid, value, "uid", notes),
            b"gid" => pax_id(&mut into.gid, value, "gid", notes),
            b"mtime" => pax_mtime(&mut into.mtime, value, notes),
            _ => {}
        }
    }
    Ok(())
}

/// Sets an owner id; an unreadable one leaves `slot` as it was and adds a note.
fn pax_id(
    slot: &mut Option<u64>,
    value: &[u8],
    key: &'static str,
    notes: &mut Vec<DiagnosticKind>,
) {
    match optional(value, decimal) {
        Ok(parsed) => *slot = parsed,
        Err(()) => notes.push(DiagnosticKind::BadPaxValue { key, leading: None }),
    }
}

/// An empty pax value cancels an earlier (global) value; anything else must parse.
fn optional<'d, T>(
    value: &'d [u8],
    parse: impl Fn(&'d [u8]) -> Option<T>,
) -> Result<Option<T>, ()> {
    if value.is_empty() {
        Ok(None)
    } else {
        parse(value).map(Some).ok_or(())
    }
}

pub(crate) fn decimal(text: &[u8]) -> Option<u64> {
    if text.is_empty() {
        return None;
    }
    text.iter().try_fold(0u64, |value, &byte| {
        let digit = byte.checked_sub(b'0').filter(|digit| *digit < 10)?;
        value.checked_mul(10)?.checked_add(u64::from(digit))
    })
}

/// A pax time: optional sign, seconds, optional fraction (dropped); also returns what
/// follows it, which is empty in a well-formed value.
fn pax_time(text: &[u8]) -> Option<(i64, &[u8])> {
    let (negative, text) = match text.split_first() {
        Some((b'-', rest)) => (true, rest),
        _ => (false, text),
    };
    let digits = |text: &[u8]| text.iter().take_while(|byte| byte.is_ascii_digit()).count();
    let whole = digits(text);
    let value = i64::try_from(decimal(&text[..whole])?).ok()?;
    let mut rest = &text[whole..];
    if let Some(fraction) = rest.strip_prefix(b".") {
        rest = &fraction[digits(fraction)..];
    }
    Some((if negative { -value } else { value }, rest))
}

/// Sets `mtime` from a pax value the way GNU tar reads it: trailing garbage is dropped and the
/// leading number used; a value without one is ignored. Either way there is a note.
fn pax_mtime(slot: &mut Option<i64>, value: &[u8], notes: &mut Vec<DiagnosticKind>) {
    if value.is_empty() {
        *slot = None;
        return;
    }
    match pax_time(value) {
        Some((time, rest)) => {
            if !rest.is_empty() {
                notes.push(DiagnosticKind::BadPaxValue {
                    key: "mtime",
                    leading: Some(time),
                });
            }
            *slot = Some(time);
        }
        None => notes.push(DiagnosticKind::BadPaxValue {
            key: "mtime",
            leading: None,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::pax_time;

    #[test]
    fn pax_times() {
        let empty: &[u8] = b"";
        assert_eq!(pax_time(b"1700000000.5"), Some((1_700_000_000, empty)));
        assert_eq!(pax_time(b"-12"), Some((-12, empty)));
        assert_eq!(pax_time(b"12.x"), Some((12, &b"x"[..])));
        assert_eq!(pax_time(b"12.5.5"), Some((12, &b".5"[..])));
        assert_eq!(pax_time(b".5"), None);
        assert_eq!(pax_time(b"99999999999999999999"), None);
        assert_eq!(pax_time(b""), None);
    }
}
