use super::*;
use crate::device_list::{DeviceEntry, DeviceList, SignedDeviceList};
use crate::error::{ErrorCode, InvitationError};
use crate::identity::Identity;
use crate::test_support::protocol_md_vector;
use crate::user::UserIdentity;

fn clinician() -> UserIdentity {
    UserIdentity::from_seed([0x51; 32])
}

fn patient() -> UserIdentity {
    UserIdentity::from_seed([0x52; 32])
}

fn code() -> InvitationCode {
    InvitationCode::from_bytes([0x61; 32])
}

fn patient_devices(user: &UserIdentity, version: u64) -> SignedDeviceList {
    let phone = Identity::from_seeds([0x41; 32], [0x42; 32]);
    DeviceList::new(
        "u_bob",
        version,
        vec![DeviceEntry::new("d_phone", phone.public_identity().clone()).unwrap()],
    )
    .unwrap()
    .sign(user)
}

fn vector(key: &str) -> String {
    protocol_md_vector("invitation", key).unwrap_or_else(|| panic!("PROTOCOL.md lacks {key}"))
}

#[test]
fn known_answer_token_fragment_and_proof() {
    let (inviter, invitee) = (clinician(), patient());
    let devices = patient_devices(&invitee, 1);
    assert_eq!(
        hex::encode(devices.as_bytes()),
        vector("invitee signed list")
    );
    assert_eq!(hex::encode(code().code_hash()), vector("code hash"));
    assert_eq!(code().redemption_token(), vector("redemption token"));
    assert_eq!(
        invitation_link_fragment(&code(), inviter.public_identity()).as_str(),
        vector("link fragment")
    );
    assert_eq!(
        hex::encode(proof::transcript(
            inviter.public_identity(),
            invitee.public_identity(),
            devices.as_bytes()
        )),
        vector("proof transcript")
    );
    let proof = RegistrationProof::compute(
        &code(),
        inviter.public_identity(),
        invitee.public_identity(),
        &devices,
    );
    assert_eq!(hex::encode(proof.as_bytes()), vector("registration proof"));
}

#[test]
fn invitation_round_trip_pins_both_users() {
    let (inviter, invitee) = (clinician(), patient());
    let code = InvitationCode::generate().unwrap();
    let fragment = invitation_link_fragment(&code, inviter.public_identity());
    assert_eq!(fragment.len(), 90);

    // The invitee opens the link (with or without '#').
    let link = InvitationLink::parse_fragment(&format!("#{}", fragment.as_str())).unwrap();
    assert_eq!(link.inviter(), inviter.public_identity());
    assert_eq!(link.code().as_bytes(), code.as_bytes());
    let devices = patient_devices(&invitee, 1);
    let proof = RegistrationProof::compute(
        link.code(),
        link.inviter(),
        invitee.public_identity(),
        &devices,
    );

    // The inviter checks what the relay delivers.
    let pinned = verify_registration(
        &code,
        inviter.public_identity(),
        "u_bob",
        invitee.public_identity(),
        devices.as_bytes(),
        &proof,
    )
    .unwrap();
    assert_eq!(pinned.signed(), &devices);
    assert_eq!(pinned.user_key(), invitee.public_identity());
}

#[test]
fn substituted_keys_lists_or_codes_are_detected() {
    let (inviter, invitee) = (clinician(), patient());
    let mallory = UserIdentity::from_seed([0x66; 32]);
    let devices = patient_devices(&invitee, 1);
    let proof = RegistrationProof::compute(
        &code(),
        inviter.public_identity(),
        invitee.public_identity(),
        &devices,
    );
    let verify = |code: &InvitationCode,
                  inviter: &UserIdentity,
                  invitee: &UserIdentity,
                  devices: &SignedDeviceList,
                  proof: &RegistrationProof| {
        verify_registration(
            code,
            inviter.public_identity(),
            "u_bob",
            invitee.public_identity(),
            devices.as_bytes(),
            proof,
        )
        .map(|_| ())
        .map_err(|e| e.code())
    };
    assert_eq!(
        verify(&code(), &inviter, &invitee, &devices, &proof),
        Ok(())
    );

    // The relay swaps the invitee's key and list for its own, keeping the
    // proof (it cannot make one: it never sees the code).
    let mallory_devices = patient_devices(&mallory, 1);
    assert_eq!(
        verify(&code(), &inviter, &mallory, &mallory_devices, &proof),
        Err("invitation_proof_mismatch")
    );
    // The invitee was given another inviter key (a substituted link).
    let fooled = RegistrationProof::compute(
        &code(),
        mallory.public_identity(),
        invitee.public_identity(),
        &devices,
    );
    assert_eq!(
        verify(&code(), &inviter, &invitee, &devices, &fooled),
        Err("invitation_proof_mismatch")
    );
    // An invitee holding the code signs its list as another, existing
    // user: the proof is genuine, but the inviter files the registration
    // under the user id the relay registered, and the list names another.
    let as_other_user = DeviceList::new(
        "u_existing_patient",
        1,
        vec![
            DeviceEntry::new(
                "d_phone",
                Identity::from_seeds([0x41; 32], [0x42; 32])
                    .public_identity()
                    .clone(),
            )
            .unwrap(),
        ],
    )
    .unwrap()
    .sign(&invitee);
    let genuine = RegistrationProof::compute(
        &code(),
        inviter.public_identity(),
        invitee.public_identity(),
        &as_other_user,
    );
    assert_eq!(
        verify(&code(), &inviter, &invitee, &as_other_user, &genuine),
        Err("invitation_user_mismatch")
    );
    // Another code.
    let other = InvitationCode::from_bytes([0x62; 32]);
    assert_eq!(
        verify(&other, &inviter, &invitee, &devices, &proof),
        Err("invitation_proof_mismatch")
    );
    // Another (validly signed) list of the invitee.
    assert_eq!(
        verify(
            &code(),
            &inviter,
            &invitee,
            &patient_devices(&invitee, 2),
            &proof
        ),
        Err("invitation_proof_mismatch")
    );
    // A list that the invitee's key did not sign.
    assert_eq!(
        verify(&code(), &inviter, &invitee, &mallory_devices, &proof),
        Err("invitation_device_list_invalid")
    );
    // A proof made with what the relay knows (the token) in place of the code.
    let mut token_as_code = [0u8; 32];
    token_as_code.copy_from_slice(&code().code_hash());
    let relay_proof = RegistrationProof::compute(
        &InvitationCode::from_bytes(token_as_code),
        inviter.public_identity(),
        mallory.public_identity(),
        &mallory_devices,
    );
    assert_eq!(
        verify(&code(), &inviter, &mallory, &mallory_devices, &relay_proof),
        Err("invitation_proof_mismatch")
    );
    // Every single bit of the proof matters.
    for bit in 0..REGISTRATION_PROOF_LEN * 8 {
        let mut bytes = *proof.as_bytes();
        bytes[bit / 8] ^= 1 << (bit % 8);
        let flipped = RegistrationProof::from_bytes(&bytes).unwrap();
        assert_eq!(
            verify(&code(), &inviter, &invitee, &devices, &flipped),
            Err("invitation_proof_mismatch")
        );
    }
}

#[test]
fn link_makes_the_proof_only_over_a_list_the_invitee_signed() {
    let (inviter, invitee) = (clinician(), patient());
    let mallory = UserIdentity::from_seed([0x66; 32]);
    let fragment = invitation_link_fragment(&code(), inviter.public_identity());
    let link = InvitationLink::parse_fragment(&fragment).unwrap();
    let devices = patient_devices(&invitee, 1);

    let proof = link
        .registration_proof(invitee.public_identity(), devices.as_bytes())
        .unwrap();
    assert_eq!(
        proof,
        RegistrationProof::compute(
            &code(),
            inviter.public_identity(),
            invitee.public_identity(),
            &devices,
        )
    );
    let verified = verify_registration(
        &code(),
        inviter.public_identity(),
        "u_bob",
        invitee.public_identity(),
        devices.as_bytes(),
        &proof,
    )
    .unwrap();
    assert_eq!(verified.signed(), &devices);

    // A list signed by another key, or not a list at all, gets no proof.
    let foreign = patient_devices(&mallory, 1);
    for bytes in [foreign.as_bytes(), &[][..], &devices.as_bytes()[1..]] {
        assert_eq!(
            link.registration_proof(invitee.public_identity(), bytes),
            Err(InvitationError::BadDeviceList)
        );
    }
}

#[test]
fn codes_tokens_and_fragments_have_strict_text_forms() {
    let c = code();
    let text = c.to_text();
    assert_eq!(text.len(), 43);
    assert_eq!(
        InvitationCode::from_text(&text).unwrap().as_bytes(),
        c.as_bytes()
    );
    let token = c.redemption_token();
    assert_eq!(token.len(), 43);
    assert!(crate::ids::is_valid_id(&token));
    assert_ne!(token, *text);
    let code_err = |t: &str| InvitationCode::from_text(t).unwrap_err().code();
    assert_eq!(code_err(""), "malformed_invitation");
    assert_eq!(code_err(&text[..42]), "malformed_invitation");
    assert_eq!(
        code_err(&format!("{}=", &text[..42])),
        "malformed_invitation"
    );
    assert_eq!(
        code_err(&format!("{}+", &text[..42])),
        "malformed_invitation"
    );

    let fragment = invitation_link_fragment(&c, clinician().public_identity());
    let link_err = |t: &str| InvitationLink::parse_fragment(t).unwrap_err().code();
    assert_eq!(link_err(""), "malformed_invitation");
    assert_eq!(link_err("#"), "malformed_invitation");
    assert_eq!(link_err(&fragment[..89]), "malformed_invitation");
    assert_eq!(
        link_err(&format!("{}A", fragment.as_str())),
        "malformed_invitation"
    );
    assert_eq!(
        link_err(&format!("##{}", fragment.as_str())),
        "malformed_invitation"
    );
    let bytes = |version: u8, kind: u8, key: &[u8]| {
        use base64::Engine as _;
        let raw = [&[version, kind][..], &[0x61; 32], key].concat();
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(raw)
    };
    let key = *clinician().public_identity().as_bytes();
    assert!(InvitationLink::parse_fragment(&bytes(1, b'I', &key)).is_ok());
    assert_eq!(link_err(&bytes(2, b'I', &key)), "unsupported_version");
    assert_eq!(link_err(&bytes(1, b'J', &key)), "malformed_invitation");
    let mut weak = [0u8; 33];
    weak[0] = 1;
    weak[1] = 1;
    assert_eq!(link_err(&bytes(1, b'I', &weak)), "malformed_invitation");
    assert_eq!(
        RegistrationProof::from_bytes(&[0; 31]).unwrap_err().code(),
        "malformed_invitation"
    );
}

#[test]
fn debug_output_redacts_the_code() {
    let debug = format!("{:?}", code());
    assert_eq!(debug, "InvitationCode([redacted])");
    let link = InvitationLink::parse_fragment(&invitation_link_fragment(
        &code(),
        clinician().public_identity(),
    ))
    .unwrap();
    let debug = format!("{link:?}");
    assert!(
        !debug.contains("6161") && !debug.contains("97, 97"),
        "{debug}"
    );
}

#[test]
fn each_invitation_error_has_its_own_code() {
    let mut codes: Vec<_> = InvitationError::ALL.iter().map(ErrorCode::code).collect();
    codes.sort_unstable();
    codes.dedup();
    assert_eq!(codes.len(), InvitationError::ALL.len());
}

#[test]
#[ignore = "prints the vectors for PROTOCOL.md"]
fn print_vectors() {
    let (inviter, invitee) = (clinician(), patient());
    let devices = patient_devices(&invitee, 1);
    println!("invitee signed list: {}", hex::encode(devices.as_bytes()));
    println!("code hash: {}", hex::encode(code().code_hash()));
    println!("redemption token: {}", code().redemption_token());
    println!(
        "link fragment: {}",
        invitation_link_fragment(&code(), inviter.public_identity()).as_str()
    );
    println!(
        "proof transcript: {}",
        hex::encode(proof::transcript(
            inviter.public_identity(),
            invitee.public_identity(),
            devices.as_bytes()
        ))
    );
    let proof = RegistrationProof::compute(
        &code(),
        inviter.public_identity(),
        invitee.public_identity(),
        &devices,
    );
    println!("registration proof: {}", hex::encode(proof.as_bytes()));
}
