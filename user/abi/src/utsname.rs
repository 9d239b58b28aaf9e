//! `struct utsname` of `uname`: six NUL-terminated 65-byte strings.

/// Length of each field, including the terminating NUL.
pub const FIELD_LENGTH: usize = 65;

/// `struct utsname`. Each field holds at most 64 bytes; longer strings are cut.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Utsname {
    pub sysname: [u8; FIELD_LENGTH],
    pub nodename: [u8; FIELD_LENGTH],
    pub release: [u8; FIELD_LENGTH],
    pub version: [u8; FIELD_LENGTH],
    pub machine: [u8; FIELD_LENGTH],
    pub domainname: [u8; FIELD_LENGTH],
}

/// A field holding `text`, cut to 64 bytes so a NUL always ends it.
pub fn field(text: &str) -> [u8; FIELD_LENGTH] {
    let mut bytes = [0; FIELD_LENGTH];
    let length = text.len().min(FIELD_LENGTH - 1);
    bytes[..length].copy_from_slice(&text.as_bytes()[..length]);
    bytes
}

impl Utsname {
    /// Size in bytes.
    pub const SIZE: usize = 6 * FIELD_LENGTH;
    /// Each field's name and byte offset.
    pub const OFFSETS: &'static [(&'static str, usize)] = &[
        ("sysname", 0),
        ("nodename", FIELD_LENGTH),
        ("release", 2 * FIELD_LENGTH),
        ("version", 3 * FIELD_LENGTH),
        ("machine", 4 * FIELD_LENGTH),
        ("domainname", 5 * FIELD_LENGTH),
    ];

    /// A `utsname` from six strings, each cut to 64 bytes.
    pub fn new(
        sysname: &str,
        nodename: &str,
        release: &str,
        version: &str,
        machine: &str,
        domainname: &str,
    ) -> Self {
        Self {
            sysname: field(sysname),
            nodename: field(nodename),
            release: field(release),
            version: field(version),
            machine: field(machine),
            domainname: field(domainname),
        }
    }

    fn fields(&self) -> [&[u8; FIELD_LENGTH]; 6] {
        [
            &self.sysname,
            &self.nodename,
            &self.release,
            &self.version,
            &self.machine,
            &self.domainname,
        ]
    }

    pub fn to_bytes(&self) -> [u8; Self::SIZE] {
        let mut bytes = [0; Self::SIZE];
        for (chunk, field) in bytes.chunks_exact_mut(FIELD_LENGTH).zip(self.fields()) {
            chunk.copy_from_slice(field);
        }
        bytes
    }

    /// Decodes the structure; `None` if `bytes` is shorter than [`Self::SIZE`].
    pub fn from_bytes(bytes: &[u8]) -> Option<Self> {
        let at = |index: usize| -> Option<[u8; FIELD_LENGTH]> {
            let start = index * FIELD_LENGTH;
            bytes.get(start..start + FIELD_LENGTH)?.try_into().ok()
        };
        Some(Self {
            sysname: at(0)?,
            nodename: at(1)?,
            release: at(2)?,
            version: at(3)?,
            machine: at(4)?,
            domainname: at(5)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_are_terminated_and_placed() {
        let long = "x".repeat(100);
        let name = Utsname::new("Linux", "box", "6.1.0", "#1", "x86_64", &long);
        let bytes = name.to_bytes();
        assert_eq!(bytes.len(), 390);
        assert_eq!(&bytes[..6], b"Linux\0");
        assert_eq!(&bytes[4 * 65..4 * 65 + 7], b"x86_64\0");
        assert_eq!(bytes[5 * 65 + 63], b'x');
        assert_eq!(bytes[5 * 65 + 64], 0);
        assert_eq!(Utsname::from_bytes(&bytes), Some(name));
        assert_eq!(Utsname::from_bytes(&bytes[..389]), None);
    }
}
