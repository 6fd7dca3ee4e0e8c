//! Onboarding: redeeming an invitation. Who the invitation registers (a new
//! user, or a device of an existing one), whether a patient invited by a
//! clinician gets a conversation with them, and whether a re-invited user
//! starts over with a new user key are decided here; the store carries the
//! decision out in one transaction.

use crate::ids;
use crate::store::{AuditRecord, Registration, Role, Store, StoreResult};

/// Why an invitation could not be redeemed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InvitationProblem {
    /// No invitation has this code.
    Unknown,
    /// It expired.
    Expired,
    /// It was already used.
    Used,
}

/// A registered user and device.
#[derive(Debug, Clone)]
pub struct Registered {
    /// The user's id (new, or the existing user a device invitation is for).
    pub user_id: String,
    /// The new device's id.
    pub device_id: String,
    /// The role the invitation granted.
    pub role: Role,
}

/// Redeems the invitation whose code hashes to `code_hash` for a device
/// whose token hashes to `token_hash`:
/// - an invitation for no user registers a new user with `display_name`; a
///   patient invited by a clinician gets a conversation with them;
/// - an invitation for a user adds a device to that user (the display name
///   is ignored); one that resets the user key also revokes the user's other
///   devices and forgets its device list, so the new device publishes a
///   first list under a new key, which contacts see as a changed identity.
///
/// # Errors
/// An [`InvitationProblem`] (nothing stored), or a storage error.
pub fn redeem(
    store: &dyn Store,
    code_hash: &[u8],
    now: i64,
    display_name: &str,
    token_hash: &[u8],
    audit: &AuditRecord,
) -> StoreResult<Result<Registered, InvitationProblem>> {
    let Some(stored) = store.invitation(code_hash)? else {
        return Ok(Err(InvitationProblem::Unknown));
    };
    if stored.used {
        return Ok(Err(InvitationProblem::Used));
    }
    let invitation = stored.invitation;
    if invitation.expires_at <= now {
        return Ok(Err(InvitationProblem::Expired));
    }
    let device_id = ids::new_id("d")?;
    let (user_id, new_user) = match &invitation.for_user {
        Some(user) => (user.clone(), None),
        None => (
            ids::new_id("u")?,
            Some((invitation.role, display_name.to_string())),
        ),
    };
    let conversation = match (&new_user, invitation.role, &invitation.inviter) {
        (Some(_), Role::Patient, Some(inviter)) => {
            Some((ids::new_id("c")?, vec![inviter.clone(), user_id.clone()]))
        }
        _ => None,
    };
    let registration = Registration {
        code_hash: code_hash.to_vec(),
        user_id: user_id.clone(),
        new_user,
        device_id: device_id.clone(),
        token_hash: token_hash.to_vec(),
        conversation,
        reset_user_key: invitation.for_user.is_some() && invitation.resets_user_key,
        now,
    };
    if !store.register(&registration, audit)? {
        return Ok(Err(InvitationProblem::Used));
    }
    Ok(Ok(Registered {
        user_id,
        device_id,
        role: invitation.role,
    }))
}
