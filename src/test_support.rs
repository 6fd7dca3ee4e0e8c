//! Helpers shared by the unit tests (compiled only for tests): reading values
//! out of PROTOCOL.md so the specification and the code cannot drift apart.

/// The protocol document, as compiled into the tests.
pub(crate) const PROTOCOL_MD: &str = include_str!("../docs/PROTOCOL.md");

/// The numeric value in the limits-table row for `name`
/// (`| \`NAME\` | 65 536 (64 KiB) | ...`), ignoring spaces and anything in
/// parentheses; `None` if the row is missing or holds no number.
pub(crate) fn protocol_md_limit(name: &str) -> Option<usize> {
    let prefix = format!("| `{name}` |");
    let line = PROTOCOL_MD.lines().find(|l| l.starts_with(&prefix))?;
    let value = line.split('|').nth(2)?;
    let digits: String = value
        .split('(')
        .next()?
        .chars()
        .filter(char::is_ascii_digit)
        .collect();
    digits.parse().ok()
}

/// The value of `key` (hex or text, as written) in the fenced block after
/// `<!-- vector:{block} -->` (`key: value` lines).
pub(crate) fn protocol_md_vector(block: &str, key: &str) -> Option<String> {
    let marker = format!("<!-- vector:{block} -->");
    let fenced = PROTOCOL_MD
        .split(marker.as_str())
        .nth(1)?
        .split("```")
        .nth(1)?;
    fenced
        .lines()
        .find_map(|line| line.strip_prefix(key)?.strip_prefix(':'))
        .map(|value| value.trim().to_string())
}
