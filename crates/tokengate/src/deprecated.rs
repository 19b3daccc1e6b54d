//! The root paths of names that moved to their neighbourhood in 0.2, kept one release
//! (`CHANGELOG.md`, "Migration to 0.2"). Types and constants carry `#[deprecated]`; traits
//! cannot (a re-export takes no deprecation in stable Rust), so they stay as hidden re-exports.
#![allow(non_upper_case_globals)]

/// Moved: `tokengate::keys::AlgorithmSet`.
#[doc(hidden)]
#[deprecated(since = "0.2.0", note = "use tokengate::keys::AlgorithmSet")]
pub type AlgorithmSet = crate::algorithm::AlgorithmSet;

/// Moved: `tokengate::keys::KeyType`.
#[doc(hidden)]
#[deprecated(since = "0.2.0", note = "use tokengate::keys::KeyType")]
pub type KeyType = crate::key::KeyType;

/// Moved: `tokengate::keys::VerifyingKey`.
#[doc(hidden)]
#[deprecated(since = "0.2.0", note = "use tokengate::keys::VerifyingKey")]
pub type VerifyingKey = crate::key::VerifyingKey;

/// Moved: `tokengate::health::KeysState`.
#[doc(hidden)]
#[deprecated(since = "0.2.0", note = "use tokengate::health::KeysState")]
pub type KeysState = crate::health::KeysState;

/// Moved: `tokengate::dpop::Dpop`.
#[doc(hidden)]
#[deprecated(since = "0.2.0", note = "use tokengate::dpop::Dpop")]
pub type Dpop = crate::binding::Dpop;

/// Moved: `tokengate::dpop::DpopNonces`.
#[doc(hidden)]
#[deprecated(since = "0.2.0", note = "use tokengate::dpop::DpopNonces")]
pub type DpopNonces = crate::binding::DpopNonces;

/// Moved: `tokengate::verifier::TrustedProxies`.
#[doc(hidden)]
#[deprecated(since = "0.2.0", note = "use tokengate::verifier::TrustedProxies")]
pub type TrustedProxies = crate::verifier::TrustedProxies;

/// Moved: `tokengate::claims::Audience`.
#[doc(hidden)]
#[deprecated(since = "0.2.0", note = "use tokengate::claims::Audience")]
pub type Audience = crate::claims::Audience;

/// Moved: `tokengate::claims::PrincipalKey`.
#[doc(hidden)]
#[deprecated(since = "0.2.0", note = "use tokengate::claims::PrincipalKey")]
pub type PrincipalKey = crate::claims::PrincipalKey;

/// Moved: `tokengate::error::ConfigErrorKind`.
#[doc(hidden)]
#[deprecated(since = "0.2.0", note = "use tokengate::error::ConfigErrorKind")]
pub type ConfigErrorKind = crate::error::ConfigErrorKind;

/// Moved: `tokengate::health::IntrospectionHealth`.
#[doc(hidden)]
#[deprecated(since = "0.2.0", note = "use tokengate::health::IntrospectionHealth")]
pub type IntrospectionHealth = crate::health::IntrospectionHealth;

/// Moved: `tokengate::health::IssuerHealth`.
#[doc(hidden)]
#[deprecated(since = "0.2.0", note = "use tokengate::health::IssuerHealth")]
pub type IssuerHealth = crate::health::IssuerHealth;

/// Moved: `tokengate::providers::UnknownProvider`.
#[doc(hidden)]
#[deprecated(since = "0.2.0", note = "use tokengate::providers::UnknownProvider")]
pub type UnknownProvider = crate::providers::UnknownProvider;

/// Moved: `tokengate::store::FirstUse`.
#[doc(hidden)]
#[deprecated(since = "0.2.0", note = "use tokengate::store::FirstUse")]
pub type FirstUse = crate::store::FirstUse;

/// Moved: `tokengate::store::Lookup`.
#[doc(hidden)]
#[deprecated(since = "0.2.0", note = "use tokengate::store::Lookup")]
pub type Lookup = crate::store::Lookup;

/// Moved: `tokengate::store::MemoryReplayStore`.
#[doc(hidden)]
#[deprecated(since = "0.2.0", note = "use tokengate::store::MemoryReplayStore")]
pub type MemoryReplayStore = crate::store::MemoryReplayStore;

/// Moved: `tokengate::store::MemoryRevocationList`.
#[doc(hidden)]
#[deprecated(since = "0.2.0", note = "use tokengate::store::MemoryRevocationList")]
pub type MemoryRevocationList = crate::store::MemoryRevocationList;

/// Moved: `tokengate::store::ProofUse`.
#[doc(hidden)]
#[deprecated(since = "0.2.0", note = "use tokengate::store::ProofUse")]
pub type ProofUse = crate::store::ProofUse;

/// Moved: `tokengate::store::Recorded`.
#[doc(hidden)]
#[deprecated(since = "0.2.0", note = "use tokengate::store::Recorded")]
pub type Recorded = crate::store::Recorded;

/// Moved: `tokengate::store::RevocationStatus`.
#[doc(hidden)]
#[deprecated(since = "0.2.0", note = "use tokengate::store::RevocationStatus")]
pub type RevocationStatus = crate::store::RevocationStatus;

/// Moved: `tokengate::store::SharedAnswer`.
#[doc(hidden)]
#[deprecated(since = "0.2.0", note = "use tokengate::store::SharedAnswer")]
pub type SharedAnswer = crate::store::SharedAnswer;

/// Moved: `tokengate::store::SharedLookup`.
#[doc(hidden)]
#[deprecated(since = "0.2.0", note = "use tokengate::store::SharedLookup")]
pub type SharedLookup = crate::store::SharedLookup;

/// Moved: `tokengate::store::StoreFuture`.
#[doc(hidden)]
#[deprecated(since = "0.2.0", note = "use tokengate::store::StoreFuture")]
pub type StoreFuture = crate::store::StoreFuture;

/// Moved: `tokengate::store::StoreRead`.
#[doc(hidden)]
#[deprecated(since = "0.2.0", note = "use tokengate::store::StoreRead")]
pub type StoreRead = crate::store::StoreRead;

/// Moved: `tokengate::store::StoreWrite`.
#[doc(hidden)]
#[deprecated(since = "0.2.0", note = "use tokengate::store::StoreWrite")]
pub type StoreWrite = crate::store::StoreWrite;

/// Moved: `tokengate::store::StoredValue`.
#[doc(hidden)]
#[deprecated(since = "0.2.0", note = "use tokengate::store::StoredValue")]
pub type StoredValue = crate::store::StoredValue;

/// Moved: `tokengate::verifier::StoreErrors`.
#[doc(hidden)]
#[deprecated(since = "0.2.0", note = "use tokengate::verifier::StoreErrors")]
pub type StoreErrors = crate::verifier::StoreErrors;

#[cfg(feature = "cache")]
/// Moved: `tokengate::cache::CacheStats`.
#[doc(hidden)]
#[deprecated(since = "0.2.0", note = "use tokengate::cache::CacheStats")]
pub type CacheStats = crate::cache::CacheStats;

#[cfg(feature = "cache")]
/// Moved: `tokengate::cache::TokenCache`.
#[doc(hidden)]
#[deprecated(since = "0.2.0", note = "use tokengate::cache::TokenCache")]
pub type TokenCache = crate::cache::TokenCache;

#[cfg(feature = "remote")]
/// Moved: `tokengate::introspection::ClientKey`.
#[doc(hidden)]
#[deprecated(since = "0.2.0", note = "use tokengate::introspection::ClientKey")]
pub type ClientKey = crate::introspect::ClientKey;

#[cfg(feature = "remote")]
/// Moved: `tokengate::introspection::Introspection`.
#[doc(hidden)]
#[deprecated(since = "0.2.0", note = "use tokengate::introspection::Introspection")]
pub type Introspection = crate::introspect::Introspection;

/// Moved: `tokengate::verifier::Attempt`.
#[doc(hidden)]
#[deprecated(since = "0.2.0", note = "use tokengate::verifier::Attempt")]
pub type Attempt<T> = crate::verifier::Attempt<T>;

/// Moved: `tokengate::verifier::Wait`.
#[doc(hidden)]
#[deprecated(since = "0.2.0", note = "use tokengate::verifier::Wait")]
pub type Wait<T> = crate::verifier::Wait<T>;

/// Moved: `tokengate::store::Reply`.
#[doc(hidden)]
#[deprecated(since = "0.2.0", note = "use tokengate::store::Reply")]
pub type Reply<T> = crate::store::Reply<T>;

/// Moved: `tokengate::store::TokenIdentity`.
#[doc(hidden)]
#[deprecated(since = "0.2.0", note = "use tokengate::store::TokenIdentity")]
pub type TokenIdentity<'a> = crate::store::TokenIdentity<'a>;

#[cfg(feature = "remote")]
/// Moved: `tokengate::introspection::CheckRequest`.
#[doc(hidden)]
#[deprecated(since = "0.2.0", note = "use tokengate::introspection::CheckRequest")]
pub type CheckRequest<'a> = crate::introspect::CheckRequest<'a>;

/// Moved: `tokengate::answer::PlainText`.
#[doc(hidden)]
#[deprecated(since = "0.2.0", note = "use tokengate::answer::PlainText")]
pub type PlainText = crate::answer::PlainText;
/// Moved: `tokengate::answer::PlainText`.
#[doc(hidden)]
#[deprecated(since = "0.2.0", note = "use tokengate::answer::PlainText")]
pub const PlainText: crate::answer::PlainText = crate::answer::PlainText;

/// Moved: `tokengate::answer::ProblemJson`.
#[doc(hidden)]
#[deprecated(since = "0.2.0", note = "use tokengate::answer::ProblemJson")]
pub type ProblemJson = crate::answer::ProblemJson;
/// Moved: `tokengate::answer::ProblemJson`.
#[doc(hidden)]
#[deprecated(since = "0.2.0", note = "use tokengate::answer::ProblemJson")]
pub const ProblemJson: crate::answer::ProblemJson = crate::answer::ProblemJson;

/// Moved: `tokengate::store::StoreUnavailable`.
#[doc(hidden)]
#[deprecated(since = "0.2.0", note = "use tokengate::store::StoreUnavailable")]
pub type StoreUnavailable = crate::store::StoreUnavailable;
/// Moved: `tokengate::store::StoreUnavailable`.
#[doc(hidden)]
#[deprecated(since = "0.2.0", note = "use tokengate::store::StoreUnavailable")]
pub const StoreUnavailable: crate::store::StoreUnavailable = crate::store::StoreUnavailable;

/// Moved: `tokengate::dpop::DEFAULT_DPOP_WINDOW`.
#[doc(hidden)]
#[deprecated(since = "0.2.0", note = "use tokengate::dpop::DEFAULT_DPOP_WINDOW")]
pub const DEFAULT_DPOP_WINDOW: std::time::Duration = crate::binding::DEFAULT_DPOP_WINDOW;

/// Moved: `tokengate::dpop::MAX_DPOP_WINDOW`.
#[doc(hidden)]
#[deprecated(since = "0.2.0", note = "use tokengate::dpop::MAX_DPOP_WINDOW")]
pub const MAX_DPOP_WINDOW: std::time::Duration = crate::binding::MAX_DPOP_WINDOW;

/// Moved: `tokengate::resource::METADATA_PATH`.
#[doc(hidden)]
#[deprecated(since = "0.2.0", note = "use tokengate::resource::METADATA_PATH")]
pub const METADATA_PATH: &str = crate::resource::METADATA_PATH;

/// Moved: `tokengate::store::DEFAULT_REPLAY_CAPACITY`.
#[doc(hidden)]
#[deprecated(
    since = "0.2.0",
    note = "use tokengate::store::DEFAULT_REPLAY_CAPACITY"
)]
pub const DEFAULT_REPLAY_CAPACITY: usize = crate::store::DEFAULT_REPLAY_CAPACITY;

/// Moved: `tokengate::verifier::DEFAULT_FETCH_TIMEOUT`.
#[doc(hidden)]
#[deprecated(
    since = "0.2.0",
    note = "use tokengate::verifier::DEFAULT_FETCH_TIMEOUT"
)]
pub const DEFAULT_FETCH_TIMEOUT: std::time::Duration = crate::verifier::DEFAULT_FETCH_TIMEOUT;

/// Moved: `tokengate::verifier::DEFAULT_KID_REFRESH_COOLDOWN`.
#[doc(hidden)]
#[deprecated(
    since = "0.2.0",
    note = "use tokengate::verifier::DEFAULT_KID_REFRESH_COOLDOWN"
)]
pub const DEFAULT_KID_REFRESH_COOLDOWN: std::time::Duration =
    crate::verifier::DEFAULT_KID_REFRESH_COOLDOWN;

/// Moved: `tokengate::verifier::DEFAULT_LEEWAY`.
#[doc(hidden)]
#[deprecated(since = "0.2.0", note = "use tokengate::verifier::DEFAULT_LEEWAY")]
pub const DEFAULT_LEEWAY: std::time::Duration = crate::verifier::DEFAULT_LEEWAY;

/// Moved: `tokengate::verifier::DEFAULT_MAX_TOKEN_BYTES`.
#[doc(hidden)]
#[deprecated(
    since = "0.2.0",
    note = "use tokengate::verifier::DEFAULT_MAX_TOKEN_BYTES"
)]
pub const DEFAULT_MAX_TOKEN_BYTES: usize = crate::verifier::DEFAULT_MAX_TOKEN_BYTES;

/// Moved: `tokengate::verifier::MAX_LEEWAY`.
#[doc(hidden)]
#[deprecated(since = "0.2.0", note = "use tokengate::verifier::MAX_LEEWAY")]
pub const MAX_LEEWAY: std::time::Duration = crate::verifier::MAX_LEEWAY;

#[cfg(feature = "remote")]
/// Moved: `tokengate::introspection::FACEBOOK_DEBUG_TOKEN`.
#[doc(hidden)]
#[deprecated(
    since = "0.2.0",
    note = "use tokengate::introspection::FACEBOOK_DEBUG_TOKEN"
)]
pub const FACEBOOK_DEBUG_TOKEN: &str = crate::introspect::FACEBOOK_DEBUG_TOKEN;

#[cfg(feature = "remote")]
/// Moved: `tokengate::introspection::GOOGLE_TOKENINFO`.
#[doc(hidden)]
#[deprecated(
    since = "0.2.0",
    note = "use tokengate::introspection::GOOGLE_TOKENINFO"
)]
pub const GOOGLE_TOKENINFO: &str = crate::introspect::GOOGLE_TOKENINFO;

/// Moved: `tokengate::dpop::NonceSource`.
#[doc(hidden)]
pub use crate::binding::NonceSource;

/// Moved: `tokengate::store::ReplayStore`.
#[doc(hidden)]
pub use crate::store::ReplayStore;

/// Moved: `tokengate::store::RevocationList`.
#[doc(hidden)]
pub use crate::store::RevocationList;

/// Moved: `tokengate::store::SharedStore`.
#[doc(hidden)]
pub use crate::store::SharedStore;

/// Moved: `tokengate::introspection::IntrospectionCache`.
#[cfg(feature = "remote")]
#[doc(hidden)]
pub use crate::introspect::IntrospectionCache;

/// Moved: `tokengate::introspection::TokenCheck`.
#[cfg(feature = "remote")]
#[doc(hidden)]
pub use crate::introspect::TokenCheck;
