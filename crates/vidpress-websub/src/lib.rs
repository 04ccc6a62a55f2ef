//! The WebSub subscriber side of Vidpress and YouTube's Atom feeds: parsing pushed and polled
//! feeds, checking `X-Hub-Signature`, talking to the hub, answering its verifications, and
//! turning what a person types into a channel id.
//!
//! This crate knows nothing of the database schema: callers store subscriptions and videos,
//! and hand this crate what it needs (a secret, a topic, what was asked of the hub).

mod channel_ref;
mod feed;
mod hub_client;
mod signature;
mod subscription;
#[cfg(feature = "test-support")]
pub mod testing;
mod verification;
mod youtube;

pub use channel_ref::{ChannelRef, ChannelRefError};
pub use feed::{
    ATOM_NS, Author, DeletedEntry, Entry, EntryError, Feed, FeedError, RejectedEntry,
    TOMBSTONES_NS, YT_NS, channel_from_uri, parse_feed,
};
pub use hub_client::{HubClient, HubError, SubscribeRequest};
pub use signature::{Algorithm, SIGNATURE_HEADER, SignatureError, sign, verify_signature};
pub use subscription::{
    CallbackToken, DEFAULT_LEASE_SECONDS, InvalidPublicUrl, InvalidToken, MAX_LEASE_SECONDS,
    MIN_LEASE_SECONDS, RENEW_AT_FRACTION, Secret, callback_url, clamp_lease, renewal_delay,
};
pub use verification::{
    Confirmation, HubRequest, Intent, Mode, Refusal, VerificationError, VerifyRequest,
    check_verification, parse_hub_request,
};
pub use youtube::{
    MAX_FEED_BYTES, MAX_PAGE_BYTES, ResolvedChannel, YOUTUBE_BASE_URL, YouTube, YouTubeError,
    canonical_channel_id,
};
