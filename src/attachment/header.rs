//! The age v1 header: its text format (`PROTOCOL.md` §7.2), parsed strictly
//! per the age specification's ABNF. Format only; keys live in `stanza.rs`.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD_NO_PAD;

use crate::error::AttachmentError;

/// The version line of age v1 files.
pub(crate) const VERSION_LINE: &[u8] = b"age-encryption.org/v1\n";

/// Prefix of every version line.
const VERSION_PREFIX: &[u8] = b"age-encryption.org/";

/// Longest header accepted: 16 KiB. A CareSeal header is about 200 bytes;
/// the bound leaves room for other implementations' extra stanzas.
pub const MAX_HEADER_LEN: usize = 16 * 1024;

/// Columns of a full stanza body line.
const BODY_COLUMNS: usize = 64;

/// Length of the base64 MAC at the end of the header.
const MAC_B64_LEN: usize = 43;

/// One recipient stanza: its arguments and decoded body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Stanza {
    pub(crate) args: Vec<String>,
    pub(crate) body: Vec<u8>,
}

/// A parsed header.
#[derive(Debug)]
pub(crate) struct Header {
    pub(crate) stanzas: Vec<Stanza>,
    /// The bytes the MAC covers: from the version line through `---`.
    pub(crate) mac_input_len: usize,
    pub(crate) mac: [u8; 32],
    /// Total header length including the MAC line's newline.
    pub(crate) len: usize,
}

/// Serialises a stanza (argument line and body wrapped at 64 columns).
pub(crate) fn write_stanza(out: &mut Vec<u8>, args: &[&str], body: &[u8]) {
    out.extend_from_slice(b"->");
    for arg in args {
        out.push(b' ');
        out.extend_from_slice(arg.as_bytes());
    }
    out.push(b'\n');
    let encoded = STANDARD_NO_PAD.encode(body);
    let mut lines = encoded.as_bytes().chunks(BODY_COLUMNS);
    let mut last_len = 0;
    for line in lines.by_ref() {
        out.extend_from_slice(line);
        out.push(b'\n');
        last_len = line.len();
    }
    // The body ends with a line shorter than 64 columns, which may be empty.
    if last_len == BODY_COLUMNS || encoded.is_empty() {
        out.push(b'\n');
    }
}

/// Appends the MAC line (`--- ` and base64 MAC).
pub(crate) fn write_mac(out: &mut Vec<u8>, mac: &[u8; 32]) {
    out.extend_from_slice(b" ");
    out.extend_from_slice(STANDARD_NO_PAD.encode(mac).as_bytes());
    out.push(b'\n');
}

/// Canonical unpadded base64, as the age specification requires.
pub(crate) fn decode_b64(text: &[u8]) -> Result<Vec<u8>, AttachmentError> {
    STANDARD_NO_PAD
        .decode(text)
        .map_err(|_| AttachmentError::MalformedHeader)
}

pub(crate) fn encode_b64(bytes: &[u8]) -> String {
    STANDARD_NO_PAD.encode(bytes)
}

/// Result of looking for a complete header at the start of `input`.
pub(crate) enum Parsed {
    /// More bytes are needed (and the prefix so far is well formed).
    Incomplete,
    /// A complete header.
    Complete(Header),
}

/// Parses a header from the start of `input`, which may continue with the
/// payload. Returns `Incomplete` while the header may still be arriving.
pub(crate) fn parse(input: &[u8]) -> Result<Parsed, AttachmentError> {
    let mut lines = Lines { input, pos: 0 };
    let Some(version) = lines.next_line(MAX_HEADER_LEN)? else {
        return check_version_prefix(input).map(|()| Parsed::Incomplete);
    };
    if version != &VERSION_LINE[..VERSION_LINE.len() - 1] {
        return Err(if version.starts_with(VERSION_PREFIX) {
            AttachmentError::UnsupportedVersion
        } else {
            AttachmentError::MalformedHeader
        });
    }
    let mut stanzas = Vec::new();
    loop {
        let line_start = lines.pos;
        let Some(line) = lines.next_line(MAX_HEADER_LEN)? else {
            return Ok(Parsed::Incomplete);
        };
        if let Some(rest) = line.strip_prefix(b"--- ") {
            if stanzas.is_empty() || rest.len() != MAC_B64_LEN {
                return Err(AttachmentError::MalformedHeader);
            }
            let mac: [u8; 32] = decode_b64(rest)?
                .try_into()
                .map_err(|_| AttachmentError::MalformedHeader)?;
            return Ok(Parsed::Complete(Header {
                stanzas,
                mac_input_len: line_start + 3,
                mac,
                len: lines.pos,
            }));
        }
        let Some(args) = line.strip_prefix(b"-> ") else {
            return Err(AttachmentError::MalformedHeader);
        };
        let args = parse_args(args)?;
        let mut body_b64 = Vec::new();
        loop {
            let Some(body_line) = lines.next_line(MAX_HEADER_LEN)? else {
                return Ok(Parsed::Incomplete);
            };
            if body_line.len() > BODY_COLUMNS
                || !body_line
                    .iter()
                    .all(|b| b.is_ascii_alphanumeric() || *b == b'+' || *b == b'/')
            {
                return Err(AttachmentError::MalformedHeader);
            }
            body_b64.extend_from_slice(body_line);
            if body_line.len() < BODY_COLUMNS {
                break;
            }
        }
        stanzas.push(Stanza {
            args,
            body: decode_b64(&body_b64)?,
        });
    }
}

/// While the version line is incomplete, the bytes so far must still be a
/// prefix of some `age-encryption.org/…` line.
fn check_version_prefix(input: &[u8]) -> Result<(), AttachmentError> {
    let n = input.len().min(VERSION_PREFIX.len());
    if input[..n] == VERSION_PREFIX[..n] {
        Ok(())
    } else {
        Err(AttachmentError::MalformedHeader)
    }
}

fn parse_args(args: &[u8]) -> Result<Vec<String>, AttachmentError> {
    args.split(|b| *b == b' ')
        .map(|arg| {
            if arg.is_empty() || !arg.iter().all(|b| (0x21..=0x7e).contains(b)) {
                return Err(AttachmentError::MalformedHeader);
            }
            // Printable ASCII is valid UTF-8.
            String::from_utf8(arg.to_vec()).map_err(|_| AttachmentError::MalformedHeader)
        })
        .collect()
}

/// Newline-terminated lines, never past `MAX_HEADER_LEN`.
struct Lines<'a> {
    input: &'a [u8],
    pos: usize,
}

impl<'a> Lines<'a> {
    /// The next line without its `\n`, or `None` if no complete line is
    /// available yet.
    fn next_line(&mut self, max: usize) -> Result<Option<&'a [u8]>, AttachmentError> {
        let rest = &self.input[self.pos..];
        match rest.iter().position(|b| *b == b'\n') {
            Some(end) => {
                if self.pos + end + 1 > max {
                    return Err(AttachmentError::HeaderTooLarge);
                }
                self.pos += end + 1;
                Ok(Some(&rest[..end]))
            }
            None if self.input.len() > max => Err(AttachmentError::HeaderTooLarge),
            None => Ok(None),
        }
    }
}
