//! Which file names a descriptor may carry (`PROTOCOL.md` §7.5). The name
//! comes from the sender and is shown to the recipient and offered when
//! saving, so it must not be able to disguise itself or name a path.

use super::descriptor::MAX_FILE_NAME_LEN;

/// Unicode general category Cf ("format"), Unicode 16.0, as inclusive
/// ranges. These characters are invisible or change how neighbouring text
/// is displayed: U+202E RIGHT-TO-LEFT OVERRIDE makes `results_\u{202E}fdp.exe`
/// read as `results_exe.pdf`; U+200B–U+200F, U+2060–U+206F and U+FEFF hide
/// characters or reorder them. Taken from the Unicode Character Database
/// (`DerivedGeneralCategory.txt`); the tests check the table against the
/// `unicode-general-category` crate for every code point.
const FORMAT_CHARACTERS: [(char, char); 21] = [
    ('\u{00AD}', '\u{00AD}'),   // soft hyphen
    ('\u{0600}', '\u{0605}'),   // Arabic number signs
    ('\u{061C}', '\u{061C}'),   // Arabic letter mark
    ('\u{06DD}', '\u{06DD}'),   // Arabic end of ayah
    ('\u{070F}', '\u{070F}'),   // Syriac abbreviation mark
    ('\u{0890}', '\u{0891}'),   // Arabic pound and piastre marks above
    ('\u{08E2}', '\u{08E2}'),   // Arabic disputed end of ayah
    ('\u{180E}', '\u{180E}'),   // Mongolian vowel separator
    ('\u{200B}', '\u{200F}'),   // zero-width space .. right-to-left mark
    ('\u{202A}', '\u{202E}'),   // bidirectional embeddings and overrides
    ('\u{2060}', '\u{2064}'),   // word joiner .. invisible plus
    ('\u{2066}', '\u{206F}'),   // bidirectional isolates, deprecated format controls
    ('\u{FEFF}', '\u{FEFF}'),   // zero-width no-break space (byte order mark)
    ('\u{FFF9}', '\u{FFFB}'),   // interlinear annotation controls
    ('\u{110BD}', '\u{110BD}'), // Kaithi number sign
    ('\u{110CD}', '\u{110CD}'), // Kaithi number sign above
    ('\u{13430}', '\u{1343F}'), // Egyptian hieroglyph format controls
    ('\u{1BCA0}', '\u{1BCA3}'), // shorthand format controls
    ('\u{1D173}', '\u{1D17A}'), // musical symbol beam and phrase controls
    ('\u{E0001}', '\u{E0001}'), // language tag
    ('\u{E0020}', '\u{E007F}'), // tag characters
];

/// Whether `c` is in Unicode general category Cf.
pub(crate) fn is_format_character(c: char) -> bool {
    FORMAT_CHARACTERS
        .iter()
        .any(|(first, last)| (*first..=*last).contains(&c))
}

/// A descriptor file name: at most [`MAX_FILE_NAME_LEN`] UTF-8 bytes; no
/// control (Cc) or format (Cf) characters; no `/` or `\`; not empty, `.`
/// or `..` once surrounding whitespace is trimmed.
pub(crate) fn is_valid_file_name(name: &str) -> bool {
    let trimmed = name.trim();
    name.len() <= MAX_FILE_NAME_LEN
        && !trimmed.is_empty()
        && trimmed != "."
        && trimmed != ".."
        && !name
            .chars()
            .any(|c| c.is_control() || is_format_character(c) || c == '/' || c == '\\')
}
