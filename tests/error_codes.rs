//! The error codes are a public contract: every core code is documented in the
//! npm package's `CareSealErrorCode` type, and every message is fixed text.

use careseal::{
    AttachmentError, DeviceListError, ErrorCode, InvitationError, KeyError, LinkError,
    MessageContextError, PickleError, PreKeyError, RngError, SealedError, SessionError,
    UserKeyError,
};

fn all_codes() -> Vec<(&'static str, String)> {
    let mut out = Vec::new();
    out.extend(RngError::ALL.iter().map(|e| (e.code(), e.to_string())));
    out.extend(KeyError::ALL.iter().map(|e| (e.code(), e.to_string())));
    out.extend(SealedError::ALL.iter().map(|e| (e.code(), e.to_string())));
    out.extend(PreKeyError::ALL.iter().map(|e| (e.code(), e.to_string())));
    out.extend(SessionError::ALL.iter().map(|e| (e.code(), e.to_string())));
    out.extend(PickleError::ALL.iter().map(|e| (e.code(), e.to_string())));
    out.extend(
        AttachmentError::ALL
            .iter()
            .map(|e| (e.code(), e.to_string())),
    );
    out.extend(UserKeyError::ALL.iter().map(|e| (e.code(), e.to_string())));
    out.extend(
        DeviceListError::ALL
            .iter()
            .map(|e| (e.code(), e.to_string())),
    );
    out.extend(
        InvitationError::ALL
            .iter()
            .map(|e| (e.code(), e.to_string())),
    );
    out.extend(
        MessageContextError::ALL
            .iter()
            .map(|e| (e.code(), e.to_string())),
    );
    out.extend(LinkError::ALL.iter().map(|e| (e.code(), e.to_string())));
    out
}

#[test]
fn every_code_is_in_the_typescript_union() {
    let dts = include_str!("../pkg-template/index.d.ts");
    for (code, _) in all_codes() {
        assert!(
            dts.contains(&format!("'{code}'")),
            "index.d.ts lacks '{code}'"
        );
    }
}

#[test]
fn codes_are_snake_case_and_messages_are_plain_text() {
    for (code, message) in all_codes() {
        assert!(
            code.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'),
            "{code}"
        );
        assert!(!message.is_empty() && message.is_ascii(), "{message}");
    }
}

fn distinct<E: ErrorCode>(all: &[E]) -> bool {
    let mut codes: Vec<_> = all.iter().map(|e| e.code()).collect();
    codes.sort_unstable();
    codes.dedup();
    codes.len() == all.len()
}

#[test]
fn each_variant_of_an_enum_has_its_own_code() {
    assert!(distinct(KeyError::ALL));
    assert!(distinct(SealedError::ALL));
    assert!(distinct(PreKeyError::ALL));
    assert!(distinct(SessionError::ALL));
    assert!(distinct(PickleError::ALL));
    assert!(distinct(UserKeyError::ALL));
    assert!(distinct(DeviceListError::ALL));
    assert!(distinct(InvitationError::ALL));
    assert!(distinct(MessageContextError::ALL));
    assert!(distinct(LinkError::ALL));
    assert!(distinct(AttachmentError::ALL));
}
