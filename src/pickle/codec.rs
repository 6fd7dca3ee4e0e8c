//! A minimal binary encoding for pickled state: fixed-order fields,
//! big-endian integers, length-prefixed sequences with caller-given bounds.
//! The reader never allocates more than its input justifies.

use zeroize::Zeroizing;

use crate::error::PickleError;

/// Appends fields to a buffer that is zeroized when dropped.
pub(crate) struct Writer {
    buf: Zeroizing<Vec<u8>>,
}

/// First allocation of a writer: most states fit without growing.
const INITIAL_CAPACITY: usize = 1024;

impl Writer {
    pub(crate) fn new() -> Self {
        Self {
            buf: Zeroizing::new(Vec::with_capacity(INITIAL_CAPACITY)),
        }
    }

    /// Makes room for `more` bytes. A `Vec` that grows by itself frees its
    /// old buffer without wiping it, leaving secrets behind in freed memory;
    /// this moves the contents to a larger buffer and wipes the old one.
    fn reserve(&mut self, more: usize) {
        let needed = self.buf.len().saturating_add(more);
        if needed <= self.buf.capacity() {
            return;
        }
        let mut larger = Zeroizing::new(Vec::with_capacity(needed.max(2 * self.buf.capacity())));
        larger.extend_from_slice(&self.buf);
        // The old buffer is zeroized as it drops.
        self.buf = larger;
    }

    pub(crate) fn u8(&mut self, value: u8) -> &mut Self {
        self.bytes(&[value])
    }

    pub(crate) fn u32(&mut self, value: u32) -> &mut Self {
        self.bytes(&value.to_be_bytes())
    }

    pub(crate) fn u64(&mut self, value: u64) -> &mut Self {
        self.bytes(&value.to_be_bytes())
    }

    pub(crate) fn bytes(&mut self, value: &[u8]) -> &mut Self {
        self.reserve(value.len());
        self.buf.extend_from_slice(value);
        self
    }

    /// A count for a sequence that follows; callers keep counts below
    /// `u32::MAX` by construction (every sequence has a small named cap).
    pub(crate) fn count(&mut self, count: usize) -> &mut Self {
        self.u32(u32::try_from(count).unwrap_or(u32::MAX))
    }

    pub(crate) fn finish(self) -> Zeroizing<Vec<u8>> {
        self.buf
    }
}

/// Reads fields in order; every read checks the remaining length.
pub(crate) struct Reader<'a> {
    buf: &'a [u8],
}

impl<'a> Reader<'a> {
    pub(crate) fn new(buf: &'a [u8]) -> Self {
        Self { buf }
    }

    fn take(&mut self, len: usize) -> Result<&'a [u8], PickleError> {
        if self.buf.len() < len {
            return Err(PickleError::Malformed);
        }
        let (head, rest) = self.buf.split_at(len);
        self.buf = rest;
        Ok(head)
    }

    pub(crate) fn u8(&mut self) -> Result<u8, PickleError> {
        Ok(self.take(1)?[0])
    }

    pub(crate) fn u64(&mut self) -> Result<u64, PickleError> {
        Ok(u64::from_be_bytes(self.array()?))
    }

    pub(crate) fn u32(&mut self) -> Result<u32, PickleError> {
        let mut out = [0u8; 4];
        out.copy_from_slice(self.take(4)?);
        Ok(u32::from_be_bytes(out))
    }

    pub(crate) fn array<const N: usize>(&mut self) -> Result<[u8; N], PickleError> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N)?);
        Ok(out)
    }

    /// A secret array, zeroized when dropped.
    pub(crate) fn secret<const N: usize>(&mut self) -> Result<Zeroizing<[u8; N]>, PickleError> {
        let mut out = Zeroizing::new([0u8; N]);
        out.copy_from_slice(self.take(N)?);
        Ok(out)
    }

    pub(crate) fn bool(&mut self) -> Result<bool, PickleError> {
        match self.u8()? {
            0 => Ok(false),
            1 => Ok(true),
            _ => Err(PickleError::Malformed),
        }
    }

    /// A sequence count, refused above `max`.
    pub(crate) fn count(&mut self, max: usize) -> Result<usize, PickleError> {
        let count = usize::try_from(self.u32()?).map_err(|_| PickleError::Malformed)?;
        if count > max {
            return Err(PickleError::Malformed);
        }
        Ok(count)
    }

    /// Succeeds only if every byte was read.
    pub(crate) fn finish(self) -> Result<(), PickleError> {
        if self.buf.is_empty() {
            Ok(())
        } else {
            Err(PickleError::Malformed)
        }
    }
}

impl Writer {
    pub(crate) fn bool(&mut self, value: bool) -> &mut Self {
        self.u8(u8::from(value))
    }
}
