//! Who may see whom, over real HTTP and through the store's read methods:
//! bundle visibility follows shared conversations, the membership query's
//! edge cases (revoked devices, a user in no conversation, two users sharing
//! two conversations, a conversation with no one else) and the paginated
//! conversation list.

mod support;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use careseal::Account;
use careseal_relay::api::wire::{ConversationView, views};
use careseal_relay::config::{DEFAULT_CONVERSATION_PAGE, MAX_CONVERSATION_PAGE};
use careseal_relay::domain::access::{self, DeviceAccess};
use careseal_relay::sqlite::SqliteStore;
use careseal_relay::store::{Page, Store};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use support::*;

async fn publish(c: &reqwest::Client, relay: &Relay, who: &Device) {
    let bundle = STANDARD.encode(Account::new().unwrap().prekey_bundle().to_bytes());
    let (status, _) = relay
        .call(
            c,
            Method::PUT,
            "/api/prekeys",
            Some(&who.token),
            Some(json!({ "bundle": bundle })),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
}

async fn fetch_bundle(c: &reqwest::Client, relay: &Relay, by: &Device, of: &Device) -> StatusCode {
    relay
        .call(
            c,
            Method::GET,
            format!("/api/devices/{}/bundle", of.device_id),
            Some(&by.token),
            None,
        )
        .await
        .0
}

/// Adds a conversation with `members` to the database behind the relay (the
/// API only creates one per invitation).
fn add_conversation(relay: &Relay, id: &str, members: &[&Device]) {
    let conn = rusqlite::Connection::open(&relay.db).unwrap();
    conn.execute(
        "INSERT INTO conversations (id, created_at) VALUES (?1, 0)",
        [id],
    )
    .unwrap();
    for member in members {
        conn.execute(
            "INSERT INTO conversation_members (conversation_id, user_id) VALUES (?1, ?2)",
            [id, member.user_id.as_str()],
        )
        .unwrap();
    }
}

/// Member user ids of each conversation, in the order listed.
fn members(list: &[careseal_relay::store::Conversation]) -> Vec<Vec<String>> {
    list.iter()
        .map(|c| c.members.iter().map(|m| m.user_id.clone()).collect())
        .collect()
}

#[tokio::test]
async fn bundle_visibility_follows_shared_conversations() {
    let relay = Relay::start(temp_db("visibility")).await;
    let c = client();
    let doctor = clinician(&c, &relay, "Dr. A").await;
    let alice = patient(&c, &relay, &doctor, "Alice").await;
    let bob = patient(&c, &relay, &doctor, "Bob").await;
    // A clinician with no patients is in no conversation at all.
    let loner = clinician(&c, &relay, "Dr. Alone").await;
    for who in [&doctor, &alice, &bob, &loner] {
        publish(&c, &relay, who).await;
    }

    for (by, of, expected) in [
        (&doctor, &alice, StatusCode::OK),
        (&alice, &doctor, StatusCode::OK),
        (&alice, &alice, StatusCode::OK),
        (&loner, &loner, StatusCode::OK),
        (&alice, &bob, StatusCode::FORBIDDEN),
        (&loner, &alice, StatusCode::FORBIDDEN),
        (&alice, &loner, StatusCode::FORBIDDEN),
        (&loner, &doctor, StatusCode::FORBIDDEN),
    ] {
        assert_eq!(
            fetch_bundle(&c, &relay, by, of).await,
            expected,
            "{} fetching {}",
            by.user_id,
            of.user_id
        );
    }
    // A clinician revokes only devices of people they share a conversation with.
    let (status, _) = relay
        .call(
            &c,
            Method::POST,
            format!("/api/devices/{}/revoke", alice.device_id),
            Some(&loner.token),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    // A revoked device is gone for everyone, its owner still a member.
    let (status, _) = relay
        .call(
            &c,
            Method::POST,
            format!("/api/devices/{}/revoke", bob.device_id),
            Some(&doctor.token),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        fetch_bundle(&c, &relay, &doctor, &bob).await,
        StatusCode::NOT_FOUND
    );
    let (_, list) = relay
        .call(
            &c,
            Method::GET,
            "/api/conversations",
            Some(&doctor.token),
            None,
        )
        .await;
    let bob_entry = list["conversations"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|c| c["members"].as_array().unwrap())
        .find(|m| m["userId"] == bob.user_id.as_str())
        .unwrap();
    assert_eq!(bob_entry["devices"], json!([]));
    relay.stop().await;
}

#[tokio::test]
async fn membership_edge_cases_answer_as_before() {
    let relay = Relay::start(temp_db("membership")).await;
    let c = client();
    let doctor = clinician(&c, &relay, "Dr. B").await;
    let alice = patient(&c, &relay, &doctor, "Alice").await;
    let bob = patient(&c, &relay, &doctor, "Bob").await;
    let loner = clinician(&c, &relay, "Dr. Alone").await;
    // Doctor and Alice share a second conversation; the doctor also has one
    // with no one else.
    add_conversation(&relay, "c_0second", &[&doctor, &alice]);
    add_conversation(&relay, "c_1alone", &[&doctor]);
    let (status, _) = relay
        .call(
            &c,
            Method::POST,
            format!("/api/devices/{}/revoke", bob.device_id),
            Some(&doctor.token),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let store = SqliteStore::open_read_only(&relay.db).unwrap();

    // Sharing is symmetric and counts each pair once, however many
    // conversations they share; a revoked device does not end membership.
    for (a, b, shared) in [
        (&doctor, &alice, true),
        (&alice, &doctor, true),
        (&doctor, &bob, true),
        (&alice, &bob, false),
        (&loner, &doctor, false),
        (&doctor, &loner, false),
        // The store answers only about conversations; seeing oneself is the
        // domain's rule.
        (&loner, &loner, false),
    ] {
        assert_eq!(
            store.shares_conversation(&a.user_id, &b.user_id).unwrap(),
            shared,
            "{} and {}",
            a.user_id,
            b.user_id
        );
    }
    assert!(access::may_see(&store, &loner.user_id, &loner.user_id).unwrap());
    assert_eq!(
        access::device_access(&store, &loner.user_id, &loner.device_id).unwrap(),
        DeviceAccess::Visible {
            owner: loner.user_id.clone()
        }
    );
    assert_eq!(
        access::device_access(&store, &loner.user_id, &alice.device_id).unwrap(),
        DeviceAccess::Hidden
    );
    assert_eq!(
        access::device_access(&store, &doctor.user_id, &bob.device_id).unwrap(),
        DeviceAccess::Missing
    );
    assert_eq!(
        access::device_access(&store, &doctor.user_id, "d_unknown").unwrap(),
        DeviceAccess::Missing
    );

    // Alice lists both conversations with the doctor, each member once,
    // clinicians before patients.
    let alices = store.conversations_of(&alice.user_id, &Page::ALL).unwrap();
    assert_eq!(alices.len(), 2);
    assert!(alices.windows(2).all(|w| w[0].id < w[1].id));
    assert_eq!(
        members(&alices),
        vec![vec![doctor.user_id.clone(), alice.user_id.clone()]; 2]
    );
    for conversation in &alices {
        assert_eq!(conversation.members[0].devices, [doctor.device_id.as_str()]);
        assert_eq!(conversation.members[1].devices, [alice.device_id.as_str()]);
    }
    // The doctor's four: with Alice (twice), with Bob (no live device) and
    // alone.
    let doctors = store.conversations_of(&doctor.user_id, &Page::ALL).unwrap();
    assert_eq!(doctors.len(), 4);
    let alone = doctors.iter().find(|c| c.id == "c_1alone").unwrap();
    assert_eq!(
        members(std::slice::from_ref(alone)),
        [[doctor.user_id.clone()]]
    );
    let with_bob = doctors
        .iter()
        .find(|c| c.members.iter().any(|m| m.user_id == bob.user_id))
        .unwrap();
    assert_eq!(with_bob.members.len(), 2);
    assert!(with_bob.members[1].devices.is_empty());
    assert_eq!(with_bob.members[0].devices, [doctor.device_id.as_str()]);
    // Someone in no conversation, and someone unknown, have none.
    assert!(
        store
            .conversations_of(&loner.user_id, &Page::ALL)
            .unwrap()
            .is_empty()
    );
    assert!(
        store
            .conversations_of("u_unknown", &Page::ALL)
            .unwrap()
            .is_empty()
    );

    // The API shows the same list.
    let (_, list) = relay
        .call(
            &c,
            Method::GET,
            "/api/conversations",
            Some(&alice.token),
            None,
        )
        .await;
    assert_eq!(
        list,
        json!({ "conversations": serde_json::to_value(views::<_, ConversationView>(alices.clone())).unwrap(), "next": null })
    );
    relay.stop().await;
}

async fn list(relay: &Relay, who: &Device, query: &str) -> (StatusCode, Value) {
    relay
        .call(
            &client(),
            Method::GET,
            format!("/api/conversations{query}"),
            Some(&who.token),
            None,
        )
        .await
}

fn ids(page: &Value) -> Vec<String> {
    page["conversations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn conversation_pages_cover_the_list_once() {
    let relay = Relay::start(temp_db("pages")).await;
    let c = client();
    let doctor = clinician(&c, &relay, "Dr. P").await;
    for i in 0..5 {
        patient(&c, &relay, &doctor, &format!("P{i}")).await;
    }

    // Without a limit: a default page (here all five), and a null cursor.
    let (status, all) = list(&relay, &doctor, "").await;
    assert_eq!(status, StatusCode::OK);
    assert!(all["next"].is_null());
    let all_ids = ids(&all);
    assert_eq!(all_ids.len(), 5);

    let mut paged = Vec::new();
    let mut query = "?limit=2".to_string();
    let mut sizes = Vec::new();
    loop {
        let (status, page) = list(&relay, &doctor, &query).await;
        assert_eq!(status, StatusCode::OK);
        sizes.push(ids(&page).len());
        paged.extend(ids(&page));
        match page["next"].as_str() {
            Some(next) => query = format!("?limit=2&after={next}"),
            None => {
                assert!(page["next"].is_null());
                break;
            }
        }
    }
    assert_eq!(sizes, [2, 2, 1]);
    assert_eq!(paged, all_ids);
    // A full last page still names a cursor; the page after it is empty.
    let (_, page) = list(&relay, &doctor, "?limit=5").await;
    assert_eq!(page["next"], all_ids[4].as_str());
    let (_, page) = list(&relay, &doctor, &format!("?limit=5&after={}", all_ids[4])).await;
    assert_eq!((ids(&page).len(), page["next"].clone()), (0, Value::Null));
    // `after` alone: the rest of the list.
    let (_, page) = list(&relay, &doctor, &format!("?after={}", all_ids[1])).await;
    assert_eq!(ids(&page), all_ids[2..]);

    // Bounds: 1 to MAX_CONVERSATION_PAGE, numbers only, known parameters.
    let max = format!("?limit={MAX_CONVERSATION_PAGE}");
    assert_eq!(list(&relay, &doctor, &max).await.0, StatusCode::OK);
    for bad in [
        format!("?limit={}", MAX_CONVERSATION_PAGE + 1),
        "?limit=0".into(),
        "?limit=-1".into(),
        "?limit=two".into(),
        "?offset=2".into(),
        // The cursor follows the text rules of every id.
        "?after=c_%E2%80%AE".into(),
        format!("?after={}", "c".repeat(65)),
    ] {
        let (status, body) = list(&relay, &doctor, &bad).await;
        assert_eq!(
            (status, body["error"].as_str()),
            (StatusCode::BAD_REQUEST, Some("malformed_request")),
            "{bad}"
        );
    }
    relay.stop().await;
}

/// A list without `limit` is one default page, however long the list: no
/// call costs more than a page.
#[tokio::test]
async fn a_list_without_a_limit_is_one_default_page() {
    let relay = Relay::start(temp_db("default-page")).await;
    let c = client();
    let doctor = clinician(&c, &relay, "Dr. Busy").await;
    let total = DEFAULT_CONVERSATION_PAGE + 7;
    for i in 0..total {
        add_conversation(&relay, &format!("c_bulk{i:04}"), &[&doctor]);
    }
    let (status, first) = list(&relay, &doctor, "").await;
    assert_eq!(status, StatusCode::OK);
    let first_ids = ids(&first);
    assert_eq!(first_ids.len(), DEFAULT_CONVERSATION_PAGE);
    let next = first["next"].as_str().unwrap().to_string();
    assert_eq!(next, first_ids[DEFAULT_CONVERSATION_PAGE - 1]);
    let (_, rest) = list(&relay, &doctor, &format!("?after={next}")).await;
    assert_eq!(ids(&rest).len(), 7);
    assert!(rest["next"].is_null());
    relay.stop().await;
}

/// Posts racing a revocation: each is queued before it (and then deleted by
/// it) or refused after it, and nothing stays queued for the revoked device.
#[tokio::test]
async fn posts_racing_a_revocation_leave_nothing_for_the_revoked_device() {
    let db = temp_db("access-revoke-race");
    let relay = std::sync::Arc::new(Relay::start(db.clone()).await);
    let c = client();
    for round in 0..12 {
        let doctor = clinician(&c, &relay, &format!("Dr. {round}")).await;
        let pat = patient(&c, &relay, &doctor, "P").await;
        let conversation = conversation_of(&c, &relay, &doctor).await;
        let mut posts = Vec::new();
        for i in 0..16 {
            let (relay, c, doctor) = (relay.clone(), c.clone(), doctor.clone());
            let body =
                json!({ "recipientDevice": pat.device_id, "body": envelope(&format!("{i}")) });
            let path = format!("/api/conversations/{conversation}/envelopes");
            posts.push(tokio::spawn(async move {
                relay
                    .call(&c, Method::POST, path, Some(&doctor.token), Some(body))
                    .await
                    .0
            }));
        }
        tokio::task::yield_now().await;
        let (status, _) = relay
            .call(
                &c,
                Method::POST,
                format!("/api/devices/{}/revoke", pat.device_id),
                Some(&doctor.token),
                None,
            )
            .await;
        assert_eq!(status, StatusCode::OK);
        for post in posts {
            let status = post.await.unwrap();
            assert!(
                status == StatusCode::OK || status == StatusCode::BAD_REQUEST,
                "{status}"
            );
        }
        let conn = rusqlite::Connection::open(&db).unwrap();
        let queued: i64 = conn
            .query_row(
                "SELECT count(*) FROM envelopes WHERE recipient_device = ?1",
                [&pat.device_id],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(queued, 0, "round {round}");
    }
}
