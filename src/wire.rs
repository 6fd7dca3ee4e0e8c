//! Reading the byte formats. [`u32_at`] decodes a field at an offset the
//! caller has checked; [`Reader`] walks a format field by field, reporting
//! one caller-chosen error when the input runs out or a field is out of
//! bounds (the newer formats, `PROTOCOL.md` §8, use it).

/// The big-endian `u32` at `bytes[at..at + 4]` (the caller has checked that
/// the four bytes exist).
pub(crate) fn u32_at(bytes: &[u8], at: usize) -> u32 {
    let mut out = [0u8; 4];
    out.copy_from_slice(&bytes[at..at + 4]);
    u32::from_be_bytes(out)
}

/// Reads fields in order; every read checks the remaining length and fails
/// with the reader's error `E` (a format's "malformed" code).
pub(crate) struct Reader<'a, E: Copy> {
    rest: &'a [u8],
    malformed: E,
}

impl<'a, E: Copy> Reader<'a, E> {
    /// A reader of `bytes` that reports `malformed` for any shortfall.
    pub(crate) fn new(bytes: &'a [u8], malformed: E) -> Self {
        Self {
            rest: bytes,
            malformed,
        }
    }

    /// The next `len` bytes.
    pub(crate) fn take(&mut self, len: usize) -> Result<&'a [u8], E> {
        if self.rest.len() < len {
            return Err(self.malformed);
        }
        let (head, rest) = self.rest.split_at(len);
        self.rest = rest;
        Ok(head)
    }

    /// The next byte.
    pub(crate) fn u8(&mut self) -> Result<u8, E> {
        Ok(self.take(1)?[0])
    }

    /// The next big-endian `u64`.
    pub(crate) fn u64(&mut self) -> Result<u64, E> {
        Ok(u64::from_be_bytes(self.array()?))
    }

    /// The next `N` bytes as an array.
    pub(crate) fn array<const N: usize>(&mut self) -> Result<[u8; N], E> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N)?);
        Ok(out)
    }

    /// A one-byte length `n`, then `n` bytes that must form a valid id
    /// ([`crate::ids::is_valid_id`]).
    pub(crate) fn id(&mut self) -> Result<&'a str, E> {
        let len = usize::from(self.u8()?);
        let bytes = self.take(len)?;
        match core::str::from_utf8(bytes) {
            Ok(id) if crate::ids::is_valid_id(id) => Ok(id),
            _ => Err(self.malformed),
        }
    }

    /// Every byte not read yet.
    pub(crate) fn rest(&mut self) -> &'a [u8] {
        core::mem::take(&mut self.rest)
    }

    /// Succeeds only if every byte was read.
    pub(crate) fn finish(self) -> Result<(), E> {
        if self.rest.is_empty() {
            Ok(())
        } else {
            Err(self.malformed)
        }
    }
}

/// Appends a valid id with its one-byte length (ids are at most
/// [`crate::ids::MAX_ID_LEN`] bytes, so the length fits).
pub(crate) fn put_id(out: &mut Vec<u8>, id: &str) {
    out.push(u8::try_from(id.len()).unwrap_or(u8::MAX));
    out.extend_from_slice(id.as_bytes());
}
