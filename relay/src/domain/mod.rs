//! The relay's rules, between the API (which turns answers into status
//! codes and JSON) and the [`Store`](crate::store::Store) (which holds bytes
//! and answers each question with a query): who may see whom, whom an
//! invitation registers, and what a user's published device list must
//! satisfy.

pub mod access;
pub mod device_lists;
pub mod onboarding;
