//! Little-endian field encoding shared by every structure in the crate.
//!
//! Structures are written field by field at fixed offsets instead of being transmuted, so the
//! crate needs no unsafe code and the byte layout is explicit in each `to_bytes`. Reads are
//! bounds-checked and report a short buffer as `None` instead of panicking.

/// Writes little-endian fields into a fixed-size buffer at explicit offsets.
pub(crate) struct Writer<'a> {
    bytes: &'a mut [u8],
}

impl<'a> Writer<'a> {
    /// Wraps `bytes`; callers size the buffer to the structure, so offsets are always in range.
    pub(crate) fn new(bytes: &'a mut [u8]) -> Self {
        Self { bytes }
    }

    pub(crate) fn put(&mut self, offset: usize, field: &[u8]) {
        self.bytes[offset..offset + field.len()].copy_from_slice(field);
    }

    pub(crate) fn u8(&mut self, offset: usize, value: u8) {
        self.bytes[offset] = value;
    }

    pub(crate) fn u16(&mut self, offset: usize, value: u16) {
        self.put(offset, &value.to_le_bytes());
    }

    pub(crate) fn i16(&mut self, offset: usize, value: i16) {
        self.put(offset, &value.to_le_bytes());
    }

    pub(crate) fn u32(&mut self, offset: usize, value: u32) {
        self.put(offset, &value.to_le_bytes());
    }

    pub(crate) fn i32(&mut self, offset: usize, value: i32) {
        self.put(offset, &value.to_le_bytes());
    }

    pub(crate) fn u64(&mut self, offset: usize, value: u64) {
        self.put(offset, &value.to_le_bytes());
    }

    pub(crate) fn i64(&mut self, offset: usize, value: i64) {
        self.put(offset, &value.to_le_bytes());
    }
}

/// Reads little-endian fields from untrusted bytes; every accessor returns `None` when the
/// field would run past the end.
#[derive(Clone, Copy)]
pub(crate) struct Reader<'a> {
    bytes: &'a [u8],
}

impl<'a> Reader<'a> {
    /// Wraps `bytes` if it holds at least `size` bytes (the structure's size).
    pub(crate) fn new(bytes: &'a [u8], size: usize) -> Option<Self> {
        (bytes.len() >= size).then_some(Self { bytes })
    }

    pub(crate) fn array<const N: usize>(&self, offset: usize) -> Option<[u8; N]> {
        let end = offset.checked_add(N)?;
        self.bytes.get(offset..end)?.try_into().ok()
    }

    pub(crate) fn u8(&self, offset: usize) -> Option<u8> {
        self.bytes.get(offset).copied()
    }

    pub(crate) fn u16(&self, offset: usize) -> Option<u16> {
        self.array(offset).map(u16::from_le_bytes)
    }

    pub(crate) fn i16(&self, offset: usize) -> Option<i16> {
        self.array(offset).map(i16::from_le_bytes)
    }

    pub(crate) fn u32(&self, offset: usize) -> Option<u32> {
        self.array(offset).map(u32::from_le_bytes)
    }

    pub(crate) fn i32(&self, offset: usize) -> Option<i32> {
        self.array(offset).map(i32::from_le_bytes)
    }

    pub(crate) fn u64(&self, offset: usize) -> Option<u64> {
        self.array(offset).map(u64::from_le_bytes)
    }

    pub(crate) fn i64(&self, offset: usize) -> Option<i64> {
        self.array(offset).map(i64::from_le_bytes)
    }
}

/// Declares a structure of scalar fields at fixed offsets, with `SIZE`, `OFFSETS` (field name,
/// offset) for layout tests, `to_bytes` and a non-panicking `from_bytes`.
macro_rules! layout {
    (
        $(#[$meta:meta])*
        pub struct $name:ident: $size:literal bytes {
            $( $(#[$field_meta:meta])* $field:ident: $kind:ident @ $offset:literal, )*
        }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
        pub struct $name {
            $( $(#[$field_meta])* pub $field: $kind, )*
        }

        impl $name {
            /// Size in bytes.
            pub const SIZE: usize = $size;
            /// Each field's name and byte offset.
            pub const OFFSETS: &'static [(&'static str, usize)] = &[$((stringify!($field), $offset)),*];

            /// Encodes the structure as user memory holds it; padding and spare fields are zero.
            pub fn to_bytes(&self) -> [u8; $size] {
                let mut bytes = [0; $size];
                let mut writer = $crate::bytes::Writer::new(&mut bytes);
                $( writer.$kind($offset, self.$field); )*
                bytes
            }

            /// Decodes the structure; `None` if `bytes` is shorter than [`Self::SIZE`].
            pub fn from_bytes(bytes: &[u8]) -> Option<Self> {
                let reader = $crate::bytes::Reader::new(bytes, $size)?;
                Some(Self { $( $field: reader.$kind($offset)?, )* })
            }
        }
    };
}
pub(crate) use layout;
