//! Invitations bound to the inviter's user key (`PROTOCOL.md` §8.4).
//!
//! The inviting clinician makes a random [`InvitationCode`] and hands the
//! invitee, out of band, a link whose fragment carries the code and the
//! inviter's [`crate::PublicUserIdentity`] ([`invitation_link_fragment`]). The relay learns only
//! a one-way [`InvitationCode::redemption_token`], never the code, so it
//! can neither read the link nor compute the invitee's
//! [`RegistrationProof`] — a MAC, under a key derived from the code, over
//! both user keys and the invitee's first signed device list. The invitee
//! pins the inviter from the link; the inviter pins the invitee only when
//! the proof verifies ([`verify_registration`]).

mod code;
mod link;
mod proof;

pub use code::{INVITATION_CODE_LEN, InvitationCode};
pub use link::{InvitationLink, invitation_link_fragment};
pub use proof::{REGISTRATION_PROOF_LEN, RegistrationProof, verify_registration};

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests;
