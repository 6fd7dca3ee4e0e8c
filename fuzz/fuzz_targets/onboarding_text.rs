//! The texts that arrive out of band or through the relay during
//! onboarding and linking (`PROTOCOL.md` §8.2, §8.4, §8.6): invitation link
//! fragments, link offers (text and bytes), registration proofs and public
//! user keys. None panics; what parses prints back to the input.
#![no_main]

use careseal::PublicUserIdentity;
use careseal::invitation::{InvitationLink, RegistrationProof};
use careseal::linking::LinkOffer;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(offer) = LinkOffer::from_bytes(data) {
        assert_eq!(offer.to_bytes().as_slice(), data);
    }
    if let Ok(proof) = RegistrationProof::from_bytes(data) {
        assert_eq!(proof.as_bytes().as_slice(), data);
    }
    if let Ok(user) = PublicUserIdentity::from_bytes(data) {
        assert_eq!(user.as_bytes().as_slice(), data);
    }
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(offer) = LinkOffer::from_text(text) {
        assert_eq!(offer.to_text(), text);
    }
    if let Ok(user) = PublicUserIdentity::from_text(text) {
        assert_eq!(user.to_text(), text);
    }
    let _ = InvitationLink::parse_fragment(text);
});
