//! Signed device lists through the relay (`PROTOCOL.md` §8.3, §8.4), over
//! real HTTP: a clinician invites with a code the relay never sees, the
//! patient registers and publishes a list with a registration proof, the
//! clinician verifies it; every list an honest client would not send is
//! refused with its own code and stores nothing; a device left off a newer
//! list is revoked; and a list the operator writes into the database is
//! caught by a client that pinned the user's key.

mod support;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use careseal::{
    DeviceEntry, DeviceList, Identity, InvitationCode, PinnedDeviceList, RegistrationProof,
    UserIdentity, verify_registration,
};
use careseal_relay::audit::keys::AuditKey;
use careseal_relay::sqlite::SqliteStore;
use careseal_relay::store::{Store, StoredDeviceList};
use reqwest::{Client, Method, StatusCode};
use serde_json::{Value, json};
use support::*;

/// A device of the test: its relay account and its CareSeal identity.
struct Member {
    device: Device,
    identity: Identity,
}

fn list(user: &str, version: u64, devices: &[(&str, &Identity)]) -> DeviceList {
    let entries = devices
        .iter()
        .map(|(id, identity)| DeviceEntry::new(id, identity.public_identity().clone()).unwrap())
        .collect();
    DeviceList::new(user, version, entries).unwrap()
}

async fn get_list(c: &Client, relay: &Relay, by: &Device, user: &str) -> (StatusCode, Value) {
    relay
        .call(
            c,
            Method::GET,
            format!("/api/users/{user}/device-list"),
            Some(&by.token),
            None,
        )
        .await
}

fn bytes(v: &Value, key: &str) -> Vec<u8> {
    STANDARD.decode(v[key].as_str().unwrap()).unwrap()
}

/// A second device of `user`, written into the database (shorter than
/// linking one, which `tests/linking.rs` covers).
fn add_device(relay: &Relay, user: &str, device: &str) -> Device {
    let token = format!("tok_{device}_secret_for_tests_only");
    let conn = rusqlite::Connection::open(&relay.db).unwrap();
    conn.execute(
        "INSERT INTO devices (id, user_id, token_hash, created_at) VALUES (?1, ?2, ?3, 0)",
        rusqlite::params![device, user, careseal_relay::ids::secret_hash(&token)],
    )
    .unwrap();
    Device {
        user_id: user.to_string(),
        device_id: device.to_string(),
        token,
    }
}

/// A clinician (with a user key and a published list) and a patient
/// invited with a client-made code, registered, with a published list and
/// registration proof. Returns (clinician, clinician key, patient, patient
/// key, code).
async fn onboard(
    c: &Client,
    relay: &Relay,
) -> (Member, UserIdentity, Member, UserIdentity, InvitationCode) {
    let doctor = Member {
        device: clinician(c, relay, "Dr Lee").await,
        identity: Identity::generate().unwrap(),
    };
    let doctor_key = UserIdentity::generate().unwrap();
    let doctor_list = list(
        &doctor.device.user_id,
        1,
        &[(&doctor.device.device_id, &doctor.identity)],
    )
    .sign(&doctor_key);
    let (status, v) = put_list(
        c,
        relay,
        &doctor.device,
        &doctor_key,
        doctor_list.as_bytes(),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{v}");

    // The clinician's device makes the code; the relay gets its one-way image.
    let code = InvitationCode::generate().unwrap();
    let (status, v) = relay
        .call(
            c,
            Method::POST,
            "/api/invitations",
            Some(&doctor.device.token),
            Some(json!({ "redemptionToken": code.redemption_token() })),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{v}");
    assert_eq!(v["invitation"], json!(code.redemption_token()));

    let (status, v) = register(c, relay, &code.redemption_token(), "Jamie").await;
    assert_eq!(status, StatusCode::CREATED, "{v}");
    let patient = Member {
        device: device_of(&v),
        identity: Identity::generate().unwrap(),
    };
    let patient_key = UserIdentity::generate().unwrap();
    let signed = list(
        &patient.device.user_id,
        1,
        &[(&patient.device.device_id, &patient.identity)],
    )
    .sign(&patient_key);
    let proof = RegistrationProof::compute(
        &code,
        doctor_key.public_identity(),
        patient_key.public_identity(),
        &signed,
    );
    let (status, v) = put_list(
        c,
        relay,
        &patient.device,
        &patient_key,
        signed.as_bytes(),
        Some(proof.as_bytes()),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{v}");
    assert_eq!(v["version"], json!("1"));
    (doctor, doctor_key, patient, patient_key, code)
}

/// Adds a phone (id `phone_id`) to the patient's user and publishes the
/// list of both devices; returns the phone and that list.
async fn with_phone(
    c: &Client,
    relay: &Relay,
    patient: &Member,
    key: &UserIdentity,
    phone_id: &str,
) -> (Device, DeviceList) {
    let user = &patient.device.user_id;
    let phone = add_device(relay, user, phone_id);
    let phone_identity = Identity::generate().unwrap();
    let both = list(
        user,
        2,
        &[
            (&patient.device.device_id, &patient.identity),
            (&phone.device_id, &phone_identity),
        ],
    );
    let (status, v) = put_list(
        c,
        relay,
        &patient.device,
        key,
        both.sign(key).as_bytes(),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{v}");
    (phone, both)
}

#[tokio::test]
async fn a_patient_invited_with_a_client_made_code_is_verified_by_the_clinician() {
    let relay = Relay::start(temp_db("lists-onboard")).await;
    let c = client();
    let (doctor, doctor_key, patient, patient_key, code) = onboard(&c, &relay).await;

    let (status, v) = get_list(&c, &relay, &doctor.device, &patient.device.user_id).await;
    assert_eq!(status, StatusCode::OK, "{v}");
    let proof = RegistrationProof::from_bytes(&bytes(&v, "registrationProof")).unwrap();
    let claimed = careseal::PublicUserIdentity::from_bytes(&bytes(&v, "userKey")).unwrap();
    let verified = verify_registration(
        &code,
        doctor_key.public_identity(),
        &patient.device.user_id,
        &claimed,
        &bytes(&v, "list"),
        &proof,
    )
    .unwrap();
    assert_eq!(&claimed, patient_key.public_identity());
    assert_eq!(verified.user_id(), patient.device.user_id);

    // The patient reads the clinician's list; a stranger reads neither.
    let (status, _) = get_list(&c, &relay, &patient.device, &doctor.device.user_id).await;
    assert_eq!(status, StatusCode::OK);
    let stranger = clinician(&c, &relay, "Dr Other").await;
    let (status, _) = get_list(&c, &relay, &stranger, &patient.device.user_id).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, v) = get_list(&c, &relay, &stranger, &stranger.user_id).await;
    assert_eq!(
        (status, v["error"].as_str()),
        (StatusCode::NOT_FOUND, Some("not_found"))
    );

    // The relay never saw the code: nothing in its database holds it.
    let db = std::fs::read(&relay.db).unwrap();
    let code_text = code.to_text();
    assert!(
        !db.windows(code.as_bytes().len())
            .any(|w| w == code.as_bytes())
    );
    assert!(
        !db.windows(code_text.len())
            .any(|w| w == code_text.as_bytes())
    );

    // A token already registered, by this clinician or another, is 409.
    for by in [&doctor.device, &stranger] {
        let (status, v) = relay
            .call(
                &c,
                Method::POST,
                "/api/invitations",
                Some(&by.token),
                Some(json!({ "redemptionToken": code.redemption_token() })),
            )
            .await;
        assert_eq!(
            (status, v["error"].as_str()),
            (StatusCode::CONFLICT, Some("invitation_exists"))
        );
    }

    // A malformed token is refused before anything is stored.
    let (status, _) = relay
        .call(
            &c,
            Method::POST,
            "/api/invitations",
            Some(&doctor.device.token),
            Some(json!({ "redemptionToken": "short" })),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    relay.stop().await;
}

#[tokio::test]
async fn lists_an_honest_client_would_not_send_are_refused_and_store_nothing() {
    let relay = Relay::start(temp_db("lists-refused")).await;
    let c = client();
    let (doctor, doctor_key, patient, patient_key, _) = onboard(&c, &relay).await;
    let user = patient.device.user_id.clone();
    let me = patient.device.device_id.clone();
    let (_, before) = get_list(&c, &relay, &doctor.device, &user).await;

    let mallory = UserIdentity::generate().unwrap();
    let v2 = list(&user, 2, &[(&me, &patient.identity)]);
    let mut tampered = v2.sign(&patient_key).as_bytes().to_vec();
    tampered[5] ^= 1;
    let stranger = Identity::generate().unwrap();
    let cases: Vec<(&str, StatusCode, &UserIdentity, Vec<u8>)> = vec![
        // Signed by another key, presented under the user's key.
        (
            "bad_device_list_signature",
            StatusCode::BAD_REQUEST,
            &patient_key,
            v2.sign(&mallory).as_bytes().to_vec(),
        ),
        (
            "bad_device_list_signature",
            StatusCode::BAD_REQUEST,
            &patient_key,
            tampered,
        ),
        // A valid list under a new key: the user's key changed.
        (
            "user_key_changed",
            StatusCode::CONFLICT,
            &mallory,
            v2.sign(&mallory).as_bytes().to_vec(),
        ),
        // The clinician's user id on the patient's list.
        (
            "device_list_user_mismatch",
            StatusCode::FORBIDDEN,
            &patient_key,
            list(&doctor.device.user_id, 2, &[(&me, &patient.identity)])
                .sign(&patient_key)
                .as_bytes()
                .to_vec(),
        ),
        // The version of the stored list, and a jump past MAX_VERSION_STEP.
        (
            "stale_device_list",
            StatusCode::CONFLICT,
            &patient_key,
            list(&user, 1, &[(&me, &stranger)])
                .sign(&patient_key)
                .as_bytes()
                .to_vec(),
        ),
        (
            "device_list_version_jump",
            StatusCode::CONFLICT,
            &patient_key,
            list(&user, u64::MAX, &[(&me, &patient.identity)])
                .sign(&patient_key)
                .as_bytes()
                .to_vec(),
        ),
        // A device the user does not have; a list without the publisher.
        (
            "unknown_device",
            StatusCode::BAD_REQUEST,
            &patient_key,
            list(
                &user,
                2,
                &[(&me, &patient.identity), ("d_relay_made_up", &stranger)],
            )
            .sign(&patient_key)
            .as_bytes()
            .to_vec(),
        ),
        (
            "publisher_not_on_device_list",
            StatusCode::BAD_REQUEST,
            &patient_key,
            list(&user, 2, &[(&doctor.device.device_id, &stranger)])
                .sign(&patient_key)
                .as_bytes()
                .to_vec(),
        ),
    ];
    for (code, status, key, signed) in cases {
        let (got, v) = put_list(&c, &relay, &patient.device, key, &signed, None).await;
        assert_eq!((got, v["error"].as_str()), (status, Some(code)));
    }
    let (status, v) = relay
        .call(
            &c,
            Method::PUT,
            "/api/device-list",
            Some(&patient.device.token),
            Some(json!({ "userKey": "AAAA", "list": "AAAA" })),
        )
        .await;
    assert_eq!(
        (status, v["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("malformed_user_key"))
    );

    // Nothing changed, and the next good list is taken.
    let (_, after) = get_list(&c, &relay, &doctor.device, &user).await;
    assert_eq!(before, after);
    let (status, v) = put_list(
        &c,
        &relay,
        &patient.device,
        &patient_key,
        v2.sign(&patient_key).as_bytes(),
        None,
    )
    .await;
    assert_eq!((status, v["version"].clone()), (StatusCode::OK, json!("2")));
    // The same list again changes nothing but is audited; the first
    // registration proof stays.
    let audited = audit_rows(&relay.db, "publish_device_list").len();
    let (status, _) = put_list(
        &c,
        &relay,
        &patient.device,
        &patient_key,
        v2.sign(&patient_key).as_bytes(),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        audit_rows(&relay.db, "publish_device_list").len(),
        audited + 1
    );
    let (_, latest) = get_list(&c, &relay, &doctor.device, &user).await;
    assert_eq!(latest["registrationProof"], before["registrationProof"]);
    let _ = doctor_key;
    relay.stop().await;
}

#[tokio::test]
async fn a_device_left_off_a_newer_list_is_revoked_with_its_queue() {
    let relay = Relay::start(temp_db("lists-remove")).await;
    let c = client();
    let (doctor, _, patient, patient_key, _) = onboard(&c, &relay).await;
    let (phone, both) = with_phone(&c, &relay, &patient, &patient_key, "d_phone_test").await;

    // The clinician queues a message for the phone; then the laptop removes it.
    let conversation = conversation_of(&c, &relay, &doctor.device).await;
    let (status, _) = relay
        .call(
            &c,
            Method::POST,
            format!("/api/conversations/{conversation}/envelopes"),
            Some(&doctor.device.token),
            Some(json!({ "recipientDevice": phone.device_id, "body": envelope("for the phone") })),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let laptop_only = both.without_device(&phone.device_id).unwrap();
    let (status, v) = put_list(
        &c,
        &relay,
        &patient.device,
        &patient_key,
        laptop_only.sign(&patient_key).as_bytes(),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{v}");
    assert_eq!(v["revoked"], json!([phone.device_id]));

    let (status, _) = relay
        .call(&c, Method::GET, "/api/me", Some(&phone.token), None)
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let conn = rusqlite::Connection::open(&relay.db).unwrap();
    let queued: i64 = conn
        .query_row(
            "SELECT count(*) FROM envelopes WHERE recipient_device = ?1",
            [&phone.device_id],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(queued, 0);
    // The publish and each revocation it made are audited, the revoked
    // device as the target.
    let mut statement = conn
        .prepare(
            "SELECT action, target, device_id FROM audit
             WHERE action IN ('publish_device_list', 'revoke_device') ORDER BY seq DESC LIMIT 2",
        )
        .unwrap();
    let rows: Vec<(String, Option<String>, Option<String>)> = statement
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let laptop = Some(patient.device.device_id.clone());
    assert_eq!(
        rows,
        vec![
            (
                "revoke_device".to_string(),
                Some(phone.device_id.clone()),
                laptop.clone()
            ),
            ("publish_device_list".to_string(), None, laptop),
        ]
    );
    relay.stop().await;
}

#[tokio::test]
async fn a_device_revoked_while_its_list_is_in_flight_cannot_store_it() {
    let db = temp_db("lists-race");
    let relay = Relay::start(db.clone()).await;
    let c = client();
    let (_, _, patient, patient_key, _) = onboard(&c, &relay).await;
    let user = patient.device.user_id.clone();
    let (phone, both) = with_phone(&c, &relay, &patient, &patient_key, "d_phone_race").await;
    relay.stop().await;

    // The phone's publish read the phone as live; a clinician revokes it
    // before the write. The write's own transaction sees the revocation.
    let files = AuditFiles::beside(&db);
    let store = SqliteStore::open(&db, AuditKey::load(&files.audit_key).unwrap()).unwrap();
    let ip: std::net::IpAddr = "127.0.0.1".parse().unwrap();
    let record = careseal_relay::audit::record(None, ip, "test", None, Ok(()));
    assert!(store.revoke_device(&phone.device_id, 1, &record).unwrap());
    let phone_only = both.without_device(&patient.device.device_id).unwrap();
    let stored = StoredDeviceList {
        user_key: patient_key.public_identity().as_bytes().to_vec(),
        list: phone_only.sign(&patient_key).as_bytes().to_vec(),
        version: 3,
        registration_proof: None,
    };
    let phone_id = vec![phone.device_id.clone()];
    assert_eq!(
        store
            .put_device_list(
                &user,
                Some(2),
                &stored,
                &phone.device_id,
                &phone_id,
                2,
                &record
            )
            .unwrap(),
        None
    );
    // Nor can a live device store a list naming a revoked one.
    let laptop = patient.device.device_id.clone();
    let both_ids = vec![laptop.clone(), phone.device_id.clone()];
    assert_eq!(
        store
            .put_device_list(&user, Some(2), &stored, &laptop, &both_ids, 2, &record)
            .unwrap(),
        None
    );
    assert_eq!(store.device_list(&user).unwrap().unwrap().version, 2);
    assert_eq!(store.live_devices(&user).unwrap(), vec![laptop]);
}

#[tokio::test]
async fn a_list_the_operator_writes_is_caught_by_a_client_that_pinned_the_key() {
    let relay = Relay::start(temp_db("lists-operator")).await;
    let c = client();
    let (doctor, _, patient, patient_key, _) = onboard(&c, &relay).await;
    let user = patient.device.user_id.clone();

    // The clinician pins the patient's key and list as served.
    let (_, v) = get_list(&c, &relay, &doctor.device, &user).await;
    let pinned =
        PinnedDeviceList::pin(&user, patient_key.public_identity(), &bytes(&v, "list")).unwrap();

    // The operator adds its own device under its own key, and then, keeping
    // the patient's key, replays the list with a device of its own signed
    // by its own key, straight into the database.
    let operator = UserIdentity::generate().unwrap();
    let relay_device = Identity::generate().unwrap();
    let forged = list(
        &user,
        2,
        &[
            (&patient.device.device_id, &patient.identity),
            ("d_operator", &relay_device),
        ],
    )
    .sign(&operator);
    let conn = rusqlite::Connection::open(&relay.db).unwrap();
    for key in [
        operator.public_identity().as_bytes().to_vec(),
        patient_key.public_identity().as_bytes().to_vec(),
    ] {
        conn.execute(
            "UPDATE device_lists SET user_key = ?1, list = ?2 WHERE user_id = ?3",
            rusqlite::params![key, forged.as_bytes(), user],
        )
        .unwrap();
        let (status, v) = get_list(&c, &relay, &doctor.device, &user).await;
        assert_eq!(status, StatusCode::OK);
        let claimed = careseal::PublicUserIdentity::from_bytes(&bytes(&v, "userKey")).unwrap();
        let refused = pinned.update(&claimed, &bytes(&v, "list")).unwrap_err();
        let expected = if &claimed == patient_key.public_identity() {
            "bad_device_list_signature"
        } else {
            "user_key_changed"
        };
        assert_eq!(careseal::ErrorCode::code(&refused), expected);
    }
    // The pinned list still names only the patient's device.
    assert_eq!(pinned.list().devices().len(), 1);
    relay.stop().await;
}

#[tokio::test]
async fn a_patient_invited_again_starts_over_with_a_new_key_that_contacts_see_change() {
    let relay = Relay::start(temp_db("lists-reinvite")).await;
    let c = client();
    let (doctor, doctor_key, patient, patient_key, _) = onboard(&c, &relay).await;
    let user = patient.device.user_id.clone();
    let (_, v) = get_list(&c, &relay, &doctor.device, &user).await;
    let pinned =
        PinnedDeviceList::pin(&user, patient_key.public_identity(), &bytes(&v, "list")).unwrap();

    // Only a clinician sharing a conversation with the patient may invite
    // them again, and only a patient.
    let stranger = clinician(&c, &relay, "Dr Other").await;
    let reinvite = |by: &Device, for_user: &str, token: String| {
        let body = json!({ "redemptionToken": token, "forUser": for_user });
        let (c, relay, token) = (c.clone(), &relay, by.token.clone());
        async move {
            relay
                .call(
                    &c,
                    Method::POST,
                    "/api/invitations",
                    Some(&token),
                    Some(body),
                )
                .await
        }
    };
    let fresh = || InvitationCode::generate().unwrap().redemption_token();
    assert_eq!(
        reinvite(&stranger, &user, fresh()).await.0,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        reinvite(&patient.device, &user, fresh()).await.0,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        reinvite(&doctor.device, &doctor.device.user_id, fresh())
            .await
            .0,
        StatusCode::FORBIDDEN
    );

    // The patient lost every device; the clinician invites them again.
    let code = InvitationCode::generate().unwrap();
    let (status, v) = reinvite(&doctor.device, &user, code.redemption_token()).await;
    assert_eq!(status, StatusCode::OK, "{v}");
    let (status, v) = register(&c, &relay, &code.redemption_token(), "ignored").await;
    assert_eq!(status, StatusCode::CREATED, "{v}");
    assert_eq!(v["userId"], json!(user), "the same user, with a new device");
    let device = device_of(&v);
    // The old device is revoked, and the new one publishes under a new key.
    let (status, _) = relay
        .call(
            &c,
            Method::GET,
            "/api/me",
            Some(&patient.device.token),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let new_key = UserIdentity::generate().unwrap();
    let identity = Identity::generate().unwrap();
    let signed = list(&user, 1, &[(&device.device_id, &identity)]).sign(&new_key);
    let proof = RegistrationProof::compute(
        &code,
        doctor_key.public_identity(),
        new_key.public_identity(),
        &signed,
    );
    let (status, v) = put_list(
        &c,
        &relay,
        &device,
        &new_key,
        signed.as_bytes(),
        Some(proof.as_bytes()),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{v}");

    // The clinician's pin sees a changed identity; the new registration
    // verifies with the new code, for the person to accept.
    let (_, v) = get_list(&c, &relay, &doctor.device, &user).await;
    let claimed = careseal::PublicUserIdentity::from_bytes(&bytes(&v, "userKey")).unwrap();
    let refused = pinned.update(&claimed, &bytes(&v, "list")).unwrap_err();
    assert_eq!(careseal::ErrorCode::code(&refused), "user_key_changed");
    let proof = RegistrationProof::from_bytes(&bytes(&v, "registrationProof")).unwrap();
    let repinned = verify_registration(
        &code,
        doctor_key.public_identity(),
        &user,
        &claimed,
        &bytes(&v, "list"),
        &proof,
    )
    .unwrap();
    assert_eq!(repinned.user_key(), new_key.public_identity());
    // The conversation is the same one: no new conversation was made.
    assert_eq!(
        conversation_of(&c, &relay, &device).await,
        conversation_of(&c, &relay, &doctor.device).await
    );
    relay.stop().await;
}
