// Types of the package entry points. Both entries initialise the
// WebAssembly module before they resolve, so everything below is ready to
// call once `import` returns.
//
// Every function that can fail throws an `Error` named "CareSealError" with
// a stable string `code` (see CareSealErrorCode).
export * from './careseal.js';
export * from './streams.js';
/** Browsers only (the Node entry does not export it). */
export { AttachmentWorker } from './worker.js';

/** The stable codes carried by `error.code` on a thrown CareSealError. */
export type CareSealErrorCode =
  | 'rng_failed'
  | 'malformed_key'
  | 'unsupported_version'
  | 'non_contributory_key'
  | 'invalid_signing_key'
  | 'empty_envelope'
  | 'truncated_envelope'
  | 'envelope_too_large'
  | 'message_too_large'
  | 'malformed_envelope'
  | 'wrong_recipient'
  | 'decrypt_failed'
  | 'bad_signature'
  | 'malformed_bundle'
  | 'bad_prekey_signature'
  | 'identity_mismatch'
  | 'too_many_prekeys'
  | 'empty_message'
  | 'truncated_message'
  | 'malformed_message'
  | 'wrong_session'
  | 'not_a_prekey_message'
  | 'unknown_signed_prekey'
  | 'unknown_one_time_prekey'
  | 'signed_prekey_exhausted'
  | 'too_many_sessions'
  | 'too_many_skipped'
  | 'replayed_message'
  | 'counter_exhausted'
  | 'malformed_pickle'
  | 'pickle_decrypt_failed'
  | 'pickle_too_large'
  | 'invalid_storage_key'
  | 'malformed_header'
  | 'header_too_large'
  | 'wrong_key'
  | 'header_mac_mismatch'
  | 'header_mismatch'
  | 'truncated_attachment'
  | 'missing_final_chunk'
  | 'chunk_tampered'
  | 'reordered_chunk'
  | 'duplicated_chunk'
  | 'trailing_data'
  | 'malformed_payload'
  | 'malformed_padding'
  | 'digest_mismatch'
  | 'length_mismatch'
  | 'malformed_descriptor'
  | 'invalid_argument'
  | 'invalid_utf8'
  | 'already_taken'
  | 'already_finished'
  | 'not_finished'
  | 'wrong_body_kind'
  | 'link_wrong_state'
  // Users, device lists, invitations, message context and device linking
  // (PROTOCOL.md §8).
  | 'malformed_user_key'
  | 'malformed_device_list'
  | 'device_list_too_large'
  | 'bad_device_list_signature'
  | 'invalid_id'
  | 'invalid_device_list_version'
  | 'device_count_out_of_range'
  | 'duplicate_device'
  | 'stale_device_list'
  | 'device_list_conflict'
  | 'device_list_user_mismatch'
  | 'user_key_changed'
  | 'device_list_version_jump'
  | 'unknown_device'
  | 'device_identity_mismatch'
  | 'malformed_invitation'
  | 'invitation_proof_mismatch'
  | 'invitation_device_list_invalid'
  | 'invitation_user_mismatch'
  | 'malformed_message_context'
  | 'unknown_body_kind'
  | 'invalid_message_context'
  | 'sender_user_mismatch'
  | 'sender_not_on_device_list'
  | 'sender_identity_mismatch'
  | 'conversation_mismatch'
  | 'replayed_sequence'
  | 'sequence_out_of_window'
  | 'malformed_link_message'
  | 'link_wrong_offer'
  | 'link_expired'
  | 'link_commitment_mismatch'
  | 'link_sas_rejected'
  | 'link_decrypt_failed'
  | 'link_payload_too_large';

/** The shape of errors thrown by CareSeal. */
export interface CareSealError extends Error {
  name: 'CareSealError';
  code: CareSealErrorCode;
}
