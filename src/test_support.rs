//! Helpers shared by the unit tests: reading values out of PROTOCOL.md so
//! the specification and the code cannot drift apart.

/// The protocol document, as compiled into the tests.
pub(crate) const PROTOCOL_MD: &str = include_str!("../docs/PROTOCOL.md");

/// The numeric value in the limits-table row for `name`
/// (`| \`NAME\` | 65 536 (64 KiB) | ...`), ignoring spaces and anything in
/// parentheses.
pub(crate) fn protocol_md_limit(name: &str) -> usize {
    let prefix = format!("| `{name}` |");
    let line = PROTOCOL_MD
        .lines()
        .find(|l| l.starts_with(&prefix))
        .unwrap_or_else(|| panic!("PROTOCOL.md has no {name} row"));
    let value = line.split('|').nth(2).unwrap();
    let digits: String = value
        .split('(')
        .next()
        .unwrap()
        .chars()
        .filter(char::is_ascii_digit)
        .collect();
    digits.parse().unwrap()
}
