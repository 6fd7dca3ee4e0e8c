//! Rules for the text the relay accepts. Display names are shown to other
//! users and ids end up in the audit log, so neither may carry characters
//! that change how the text around them looks: controls (Cc), format
//! characters (Cf: bidi overrides such as U+202E, zero-width characters,
//! the BOM), line and paragraph separators (Zl, Zp), or spaces other than
//! U+0020 (Zs). Ids are stricter still: base64url, the alphabet every id,
//! token and invitation code the relay issues is written in.

use unicode_general_category::{GeneralCategory, get_general_category};

use crate::config::{MAX_DISPLAY_NAME, MAX_ID_LEN};

/// Characters assigned as letters or symbols that render as nothing: the
/// Hangul fillers (U+115F, U+1160, U+3164, U+FFA0) and the blank Braille
/// pattern (U+2800).
const BLANKS: [char; 5] = ['\u{115F}', '\u{1160}', '\u{3164}', '\u{FFA0}', '\u{2800}'];

/// Whether `c` may appear in free text shown to others. Refused besides
/// controls, format characters, separators and spaces other than U+0020:
/// private-use (Co: U+E000–F8FF, planes 15–16) and unassigned (Cn)
/// characters, whose look no one can predict, and [`BLANKS`].
pub fn is_visible(c: char) -> bool {
    if BLANKS.contains(&c) {
        return false;
    }
    match get_general_category(c) {
        GeneralCategory::Control
        | GeneralCategory::Format
        | GeneralCategory::LineSeparator
        | GeneralCategory::ParagraphSeparator
        | GeneralCategory::PrivateUse
        | GeneralCategory::Unassigned
        | GeneralCategory::Surrogate => false,
        GeneralCategory::SpaceSeparator => c == ' ',
        _ => true,
    }
}

/// Whether `c` is a visible base character: a letter, number, punctuation
/// or symbol that [`is_visible`] accepts. Marks (combining accents,
/// variation selectors U+FE00–FE0F and U+E0100–E01EF) only modify one.
fn is_base(c: char) -> bool {
    use GeneralCategory::*;
    is_visible(c)
        && !matches!(
            get_general_category(c),
            NonspacingMark | SpacingMark | EnclosingMark | SpaceSeparator
        )
}

/// A display name with surrounding U+0020 spaces removed, or `None` if it
/// is empty, longer than `MAX_DISPLAY_NAME` bytes, holds a character
/// [`is_visible`] refuses, or has no visible base character (only marks
/// such as variation selectors).
pub fn display_name(raw: &str) -> Option<String> {
    let name = raw.trim_matches(' ');
    (!name.is_empty()
        && name.len() <= MAX_DISPLAY_NAME
        && name.chars().all(is_visible)
        && name.chars().any(is_base))
    .then(|| name.to_string())
}

/// Whether `text` is a well-formed id: 1 to `MAX_ID_LEN` characters of
/// `A–Z a–z 0–9 _ -`.
pub fn is_id(text: &str) -> bool {
    !text.is_empty()
        && text.len() <= MAX_ID_LEN
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_refuse_invisible_and_bidi_characters() {
        for bad in [
            "Dr.\u{202E}rekcaH",
            "Zero\u{200B}Width",
            "\u{FEFF}BOM",
            "Line\u{2028}Break",
            "Para\u{2029}graph",
            "Tab\tbed",
            "No\u{A0}Break",
            "Soft\u{AD}hyphen",
            "Isolate\u{2067}",
            "\u{3164}",
            "\u{3164}\u{3164}",
            "\u{115F}",
            "\u{1160}",
            "\u{FFA0}",
            "\u{2800}\u{2800}",
            "Dr.\u{3164}X",
            "\u{FE0F}",
            "\u{FE00}\u{FE0F}",
            "\u{E0100}\u{E01EF}",
            "\u{301}\u{301}",
            "\u{E000}",
            "Priv\u{F8FF}",
            "\u{F0000}",
            "\u{10FFFD}",
            "\u{0378}",
            "\u{E0080}",
            "",
            "   ",
        ] {
            assert_eq!(display_name(bad), None, "{bad:?}");
        }
        assert_eq!(display_name(&"a".repeat(MAX_DISPLAY_NAME + 1)), None);
    }

    #[test]
    fn ordinary_names_pass_trimmed() {
        for good in [
            "Dr. Okafor",
            "José Núñez",
            "王小明",
            "Zoë O'Brien-Smith",
            "د. أحمد",
            "李雷",
            "Ана",
            "José Nu\u{303}n\u{303}ez",
            "❤\u{FE0F} Mum",
        ] {
            assert_eq!(display_name(&format!("  {good} ")).as_deref(), Some(good));
        }
        assert!(display_name(&"a".repeat(MAX_DISPLAY_NAME)).is_some());
    }

    #[test]
    fn ids_are_base64url() {
        assert!(is_id("d_AbC-123_xyz"));
        for bad in [
            "",
            "a b",
            "a/b",
            "a\u{202E}",
            "é",
            &"a".repeat(MAX_ID_LEN + 1),
        ] {
            assert!(!is_id(bad), "{bad:?}");
        }
    }
}
