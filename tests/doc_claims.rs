//! `docs/THREAT_MODEL.md` and `docs/HIPAA.md` back every claim with a named
//! test. This checks that each test they name exists, so a claim cannot
//! outlive its test: a Rust test is `fn NAME(` in the file, a JavaScript test
//! is `test('NAME'` (or with double quotes).

use std::path::Path;

const THREAT_MODEL: &str = include_str!("../docs/THREAT_MODEL.md");
const HIPAA: &str = include_str!("../docs/HIPAA.md");

/// Every `` `file::name` `` reference in a document.
fn references(document: &str) -> Vec<(String, String)> {
    document
        .split('`')
        .skip(1)
        .step_by(2)
        .filter_map(|span| {
            let (file, name) = span.split_once("::")?;
            let known = file.ends_with(".rs") || file.ends_with(".mjs");
            known.then(|| (file.to_string(), name.to_string()))
        })
        .collect()
}

#[test]
fn every_test_the_threat_model_names_exists() {
    check(THREAT_MODEL, 30);
}

#[test]
fn every_test_the_hipaa_map_names_exists() {
    check(HIPAA, 20);
}

fn check(document: &str, at_least: usize) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let references = references(document);
    assert!(references.len() >= at_least, "found {}", references.len());
    let mut missing = Vec::new();
    for (file, name) in &references {
        let Ok(source) = std::fs::read_to_string(root.join(file)) else {
            missing.push(format!("{file} (no such file)"));
            continue;
        };
        let found = if file.ends_with(".rs") {
            source.contains(&format!("fn {name}("))
        } else {
            source.contains(&format!("test('{name}'"))
                || source.contains(&format!("test(\"{name}\""))
        };
        if !found {
            missing.push(format!("{file}::{name}"));
        }
    }
    assert!(
        missing.is_empty(),
        "THREAT_MODEL.md names missing tests: {missing:#?}"
    );
}

#[test]
fn the_check_catches_a_missing_test() {
    // The parser finds references, and a made-up one would not be found.
    assert!(
        references(THREAT_MODEL)
            .iter()
            .any(|(f, n)| f == "src/session/tests.rs"
                && n == "rolled_back_state_never_reuses_key_and_nonce")
    );
    let source =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("src/session/tests.rs"))
            .unwrap_or_default();
    assert!(!source.contains("fn no_such_test_exists_anywhere("));
}
