//! The keys that anchor the audit log outside the database, and their files.
//!
//! Each key file is one line, `<label> <base64>`, so one key cannot be
//! passed where another is expected. Secret key files are created with
//! mode 0600 and never overwritten.

use std::fmt;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use ed25519_dalek::{Signature, Signer as _, SigningKey, VerifyingKey};
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use zeroize::Zeroizing;

/// Label of an audit MAC key file.
pub const AUDIT_KEY_LABEL: &str = "careseal-relay-audit-mac-key-v1";

/// Label of a checkpoint signing key file.
pub const CHECKPOINT_KEY_LABEL: &str = "careseal-relay-checkpoint-signing-key-v1";

/// Label of a checkpoint public key file.
pub const CHECKPOINT_PUBLIC_KEY_LABEL: &str = "careseal-relay-checkpoint-public-key-v1";

/// A key file that cannot be read, written or understood.
#[derive(Debug)]
pub enum KeyFileError {
    /// Reading or creating the file failed.
    Io(PathBuf, std::io::Error),
    /// The file is not a key of the expected kind.
    Malformed(PathBuf, &'static str),
    /// No randomness.
    Random,
    /// A secret key file that its group or others may read or write (its
    /// mode).
    Exposed(PathBuf, u32),
}

impl fmt::Display for KeyFileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KeyFileError::Io(path, e) => write!(f, "{}: {e}", path.display()),
            KeyFileError::Malformed(path, expected) => {
                write!(f, "{}: not {expected}", path.display())
            }
            KeyFileError::Random => write!(f, "no randomness available"),
            KeyFileError::Exposed(path, mode) => write!(
                f,
                "{}: a secret key readable or writable by group or others (mode {mode:04o}); \
                 refusing to use it: chmod 600 it (and consider the key exposed)",
                path.display()
            ),
        }
    }
}

impl std::error::Error for KeyFileError {}

/// The HMAC-SHA256 key every audit record is MACed with.
pub struct AuditKey(Zeroizing<[u8; 32]>);

impl fmt::Debug for AuditKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AuditKey([redacted])")
    }
}

impl AuditKey {
    /// A new random key.
    pub fn generate() -> Result<Self, KeyFileError> {
        Ok(Self(random_32()?))
    }

    /// A key from its bytes.
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(Zeroizing::new(bytes))
    }

    /// Reads a key file.
    pub fn load(path: &Path) -> Result<Self, KeyFileError> {
        refuse_exposed(path)?;
        Ok(Self(read_key(path, AUDIT_KEY_LABEL, "an audit key")?))
    }

    /// Writes the key to a new file (mode 0600); an existing file is an error.
    pub fn save_new(&self, path: &Path) -> Result<(), KeyFileError> {
        write_new(path, AUDIT_KEY_LABEL, &self.0[..], true)
    }

    fn hmac(&self, parts: &[&[u8]]) -> Hmac<Sha256> {
        // HMAC zero-pads keys shorter than the 64-byte block (RFC 2104 §2),
        // so passing the padded block is the same function, and infallible.
        let mut block = Zeroizing::new([0u8; 64]);
        block[..32].copy_from_slice(&self.0[..]);
        let mut mac = Hmac::<Sha256>::new(&(*block).into());
        for part in parts {
            mac.update(part);
        }
        mac
    }

    /// HMAC-SHA256 over the concatenation of `parts`.
    pub fn mac(&self, parts: &[&[u8]]) -> [u8; 32] {
        self.hmac(parts).finalize().into_bytes().into()
    }

    /// Whether `tag` is the MAC of `parts`, compared in constant time.
    pub fn verify(&self, parts: &[&[u8]], tag: &[u8]) -> bool {
        self.hmac(parts).verify_slice(tag).is_ok()
    }
}

/// The Ed25519 key checkpoints are signed with.
pub struct CheckpointKey(SigningKey);

impl fmt::Debug for CheckpointKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("CheckpointKey([redacted])")
    }
}

impl CheckpointKey {
    /// A new random key.
    pub fn generate() -> Result<Self, KeyFileError> {
        Ok(Self(SigningKey::from_bytes(&*random_32()?)))
    }

    /// Reads a key file.
    pub fn load(path: &Path) -> Result<Self, KeyFileError> {
        refuse_exposed(path)?;
        let seed = read_key(path, CHECKPOINT_KEY_LABEL, "a checkpoint signing key")?;
        Ok(Self(SigningKey::from_bytes(&seed)))
    }

    /// Writes the key to a new file (mode 0600); an existing file is an error.
    pub fn save_new(&self, path: &Path) -> Result<(), KeyFileError> {
        let seed = Zeroizing::new(self.0.to_bytes());
        write_new(path, CHECKPOINT_KEY_LABEL, &seed[..], true)
    }

    /// The key that verifies its signatures.
    pub fn public_key(&self) -> CheckpointPublicKey {
        CheckpointPublicKey(self.0.verifying_key())
    }

    /// Signs `message`.
    pub fn sign(&self, message: &[u8]) -> [u8; 64] {
        self.0.sign(message).to_bytes()
    }
}

/// The public half of a [`CheckpointKey`]: what a verifier needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckpointPublicKey(VerifyingKey);

impl CheckpointPublicKey {
    /// Reads a public key file.
    pub fn load(path: &Path) -> Result<Self, KeyFileError> {
        const WHAT: &str = "a checkpoint public key";
        let bytes = read_key(path, CHECKPOINT_PUBLIC_KEY_LABEL, WHAT)?;
        VerifyingKey::from_bytes(&bytes)
            .map(Self)
            .map_err(|_| KeyFileError::Malformed(path.to_path_buf(), WHAT))
    }

    /// Writes the key to a new file (mode 0644); an existing file is an error.
    pub fn save_new(&self, path: &Path) -> Result<(), KeyFileError> {
        write_new(path, CHECKPOINT_PUBLIC_KEY_LABEL, self.0.as_bytes(), false)
    }

    /// Whether `signature` is this key's strict Ed25519 signature of `message`.
    pub fn verify(&self, message: &[u8], signature: &[u8; 64]) -> bool {
        self.0
            .verify_strict(message, &Signature::from_bytes(signature))
            .is_ok()
    }
}

fn random_32() -> Result<Zeroizing<[u8; 32]>, KeyFileError> {
    let mut bytes = Zeroizing::new([0u8; 32]);
    getrandom::fill(&mut bytes[..]).map_err(|_| KeyFileError::Random)?;
    Ok(bytes)
}

/// An error if the secret key file at `path` is open to group or others.
fn refuse_exposed(path: &Path) -> Result<(), KeyFileError> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(path)
            .map_err(|e| KeyFileError::Io(path.to_path_buf(), e))?
            .permissions()
            .mode()
            & 0o7777;
        if mode & 0o077 != 0 {
            return Err(KeyFileError::Exposed(path.to_path_buf(), mode));
        }
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}

fn read_key(
    path: &Path,
    label: &str,
    what: &'static str,
) -> Result<Zeroizing<[u8; 32]>, KeyFileError> {
    let malformed = || KeyFileError::Malformed(path.to_path_buf(), what);
    let text = Zeroizing::new(
        std::fs::read_to_string(path).map_err(|e| KeyFileError::Io(path.to_path_buf(), e))?,
    );
    let (found, encoded) = text.trim_end().split_once(' ').ok_or_else(malformed)?;
    if found != label {
        return Err(malformed());
    }
    let decoded = Zeroizing::new(STANDARD.decode(encoded).map_err(|_| malformed())?);
    let mut key = Zeroizing::new([0u8; 32]);
    if decoded.len() != key.len() {
        return Err(malformed());
    }
    key.copy_from_slice(&decoded);
    Ok(key)
}

fn write_new(path: &Path, label: &str, key: &[u8], secret: bool) -> Result<(), KeyFileError> {
    let io = |e| KeyFileError::Io(path.to_path_buf(), e);
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(if secret { 0o600 } else { 0o644 });
    }
    #[cfg(not(unix))]
    let _ = secret;
    let mut file = options.open(path).map_err(io)?;
    let line = Zeroizing::new(format!("{label} {}\n", STANDARD.encode(key)));
    file.write_all(line.as_bytes()).map_err(io)?;
    file.sync_all().map_err(io)
}
