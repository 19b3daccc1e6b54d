//! What the request pipeline asks of the verifier's state: revocation judged in one place,
//! DPoP and certificate settings, introspection routing, and the store error counters.

use super::*;

/// What a token refused by the first stage names, for routing it to introspection.
#[cfg(feature = "remote")]
enum Named {
    /// A JWS naming this configured issuer.
    Issuer(usize),
    /// A JWS whose header or payload is not strict JSON: judged locally, never sent out.
    Unreadable,
    /// Not a JWS, or a JWS naming no configured issuer.
    NotOurs,
}

#[cfg(feature = "remote")]
impl Inner {
    /// The issuer whose introspection should check this token, if any: an issuer that
    /// introspects all its tokens, or the opaque-token issuer for anything that is not a
    /// compact JWS from a configured issuer. A JWS that names a configured issuer but breaks a
    /// local rule (a `crit` header, `alg: none`, ...) keeps its local answer: it is never
    /// retried by introspection. So does a JWS whose payload is not strict JSON (a duplicate
    /// member, nesting past the limit): which issuer it names cannot be told, and another
    /// parser (the provider's) might read it otherwise. Oversized tokens are never sent
    /// anywhere (`docs/security.md`, "Which tokens are introspected").
    pub(super) fn introspection_for(
        &self,
        token: &str,
        prepared: &Result<validate::Prepared<'_>, Error>,
    ) -> Option<usize> {
        match prepared {
            Ok(prepared) => Some(prepared.issuer).filter(|i| self.issuers[*i].introspect_all),
            Err(error) if error.kind() == ErrorKind::TokenTooLarge => None,
            Err(_) => match self.named_issuer(token) {
                Named::Issuer(index) => Some(index).filter(|i| self.issuers[*i].introspect_all),
                Named::Unreadable => None,
                Named::NotOurs => self.opaque_issuer,
            },
        }
    }

    /// What a token that failed the first stage names, read only on the refusal path.
    fn named_issuer(&self, token: &str) -> Named {
        let Ok(segments) = crate::jws::split(token) else {
            return Named::NotOurs;
        };
        let mut header = Vec::new();
        let is_jws = crate::jws::decode_into(segments.header, &mut header).is_ok()
            && serde_json::from_slice::<serde_json::Map<String, serde_json::Value>>(&header)
                .is_ok_and(|header| header.contains_key("alg"));
        if !is_jws {
            return Named::NotOurs;
        }
        let mut payload = Vec::new();
        if crate::jws::decode_into(segments.payload, &mut payload).is_err() {
            return Named::Unreadable;
        }
        match crate::json::parse_view(&payload, &[]) {
            Ok(view) => match &view.iss {
                Some(crate::json::Loose::Str(iss)) => self
                    .issuers
                    .iter()
                    .position(|i| i.names(iss))
                    .map_or(Named::NotOurs, Named::Issuer),
                _ => Named::NotOurs,
            },
            Err(_) => Named::Unreadable,
        }
    }
}

/// The verifier judges introspection answers: the introspector only fetches, caches and shares
/// them.
#[cfg(feature = "remote")]
impl crate::introspect::Judge for Inner {
    fn introspection_wanted(&self) -> &[(Box<str>, Want)] {
        &self.introspection_wanted
    }

    fn issuer_iss(&self, index: usize) -> &str {
        &self.issuers[index].iss
    }

    fn check_answer<T: DeserializeOwned>(
        &self,
        index: usize,
        view: &crate::json::ClaimsView<'_>,
        body: &[u8],
        now: u64,
    ) -> Result<Verified<T>, Error> {
        // RFC 7662: every member but `active` is optional; the RFC 9068 profile is about JWTs
        // and does not apply (the issuer's own `require_claims` do).
        let rules = Rules {
            exp_required: false,
            aud_required: false,
            jwt_profile: false,
        };
        self.check_claims::<T>(index, view, body, now, rules)
    }
}

/// Shared-store failures, per check.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct StoreErrors {
    /// The DPoP replay store.
    pub replay: u64,
    /// The revocation list.
    pub revocation: u64,
}

#[derive(Default)]
pub(crate) struct StoreCounters {
    pub(crate) replay: AtomicU64,
    pub(crate) revocation: AtomicU64,
}

impl Inner {
    /// The revocation list's answer as a decision: revoked is `revoked`; a list that cannot
    /// answer is 503, or — with `insecure_revocation_fail_open` — admitted with a warning.
    pub(crate) fn judge_revocation(
        &self,
        status: Result<RevocationStatus, StoreUnavailable>,
    ) -> Result<(), Error> {
        match status {
            Ok(RevocationStatus::Valid) => Ok(()),
            Ok(RevocationStatus::Revoked) => {
                Err(Error::new(ErrorKind::Revoked, "the token was revoked"))
            }
            Err(StoreUnavailable) => {
                self.store_errors.revocation.fetch_add(1, Ordering::Relaxed);
                #[cfg(feature = "metrics")]
                crate::observe::store_error("revocation");
                if self.revocation_fail_open {
                    tracing::warn!(
                        target: "tokengate::revocation",
                        "the revocation list could not answer: admitted (insecure_revocation_fail_open)"
                    );
                    Ok(())
                } else {
                    Err(Error::revocation_unavailable(Duration::from_secs(5)))
                }
            }
        }
    }

    /// The revocation check, awaited (for paths that are asynchronous anyway).
    pub(super) async fn not_revoked<T>(&self, verified: Verified<T>) -> Result<Verified<T>, Error> {
        let Some(list) = &self.revocation else {
            return Ok(verified);
        };
        let status = match list.status(&verified.identity(), self.clock.now_unix()) {
            Lookup::Now(status) => status,
            Lookup::Later(lookup) => lookup.await,
        };
        self.judge_revocation(status).map(|()| verified)
    }

    /// Whether the issuer named `iss` requires DPoP-bound tokens.
    pub(crate) fn requires_dpop(&self, iss: &str) -> bool {
        self.issuers
            .iter()
            .any(|issuer| issuer.require_dpop && issuer.names(iss))
    }

    /// Logs a refusal decided outside token verification (proof, binding, replay).
    pub(crate) fn log_refusal(&self, error: &Error) {
        self.log_rejection(error, None);
    }

    /// The SHA-256 of the request's client certificate: from the server's own TLS, else from
    /// the configured header when the request came through a trusted proxy.
    pub(crate) fn client_certificate<H: crate::request::RequestHeaders + ?Sized>(
        &self,
        request: &crate::request::RequestView<'_, H>,
    ) -> Option<[u8; 32]> {
        if let Some(der) = request.client_certificate() {
            return Some(crate::binding::certificate_thumbprint(der));
        }
        let name = self.certificate_header.as_ref()?;
        if !self.proxies.trusts(request) {
            return None;
        }
        let value = crate::binding::single(request.headers(), name.as_str())?;
        let der = crate::binding::certificate_from_header(value)?;
        Some(crate::binding::certificate_thumbprint(&der))
    }

    /// The canonical resource identifier, accepted as an audience.
    pub(crate) fn resource_canonical(&self) -> Option<&str> {
        self.resource.as_ref().map(|r| &*r.canonical)
    }

    /// Logs a refused token at debug level: the stable code and fixed detail, and for an issuer
    /// or audience mismatch the *configured* values it was compared with (configuration, not
    /// secrets) — never the token or its claims.
    pub(super) fn log_rejection(&self, error: &Error, issuer: Option<usize>) {
        if !tracing::enabled!(target: "tokengate::verify", tracing::Level::DEBUG) {
            return;
        }
        match (error.kind(), issuer) {
            (ErrorKind::InvalidIssuer, _) => {
                let configured: Vec<&str> = self.issuers.iter().map(|i| &*i.iss).collect();
                tracing::debug!(
                    target: "tokengate::verify",
                    code = error.code(),
                    detail = error.detail(),
                    configured_issuers = ?configured,
                    "token rejected: its iss is none of the configured issuers"
                );
            }
            (ErrorKind::InvalidAudience, Some(index)) => {
                let state = &self.issuers[index];
                tracing::debug!(
                    target: "tokengate::verify",
                    code = error.code(),
                    detail = error.detail(),
                    issuer = &*state.iss,
                    configured_audiences = ?state.audiences,
                    "token rejected: its aud names none of the configured audiences"
                );
            }
            (ErrorKind::MissingClaim, _) => tracing::debug!(
                target: "tokengate::verify",
                code = error.code(),
                detail = error.detail(),
                claim = error.claim(),
                "token rejected: a required claim is missing"
            ),
            _ => tracing::debug!(
                target: "tokengate::verify",
                code = error.code(),
                detail = error.detail(),
                "token rejected"
            ),
        }
    }

    /// A cached verification still valid now, under the same key set.
    #[cfg(feature = "cache")]
    pub(super) fn cache_hit<T: 'static>(
        &self,
        cache: &Cache,
        hash: [u8; 32],
    ) -> Option<Verified<T>> {
        let entry = cache.get::<T>(hash)?;
        let now = self.clock.now_unix() as f64;
        let issuer = &self.issuers[entry.issuer];
        if now < entry.until {
            // Still under the key set that verified it: the issuer's, looked at before the
            // claims are taken out; a tenant's (any-tenant templates), found by its `iss`.
            #[cfg(feature = "remote")]
            let per_tenant = issuer.any_tenant.is_some();
            #[cfg(not(feature = "remote"))]
            let per_tenant = false;
            if per_tenant {
                if let Some(verified) = Cache::claims::<T>(&entry) {
                    let same_keys = issuer
                        .keys_for(verified.issuer())
                        .is_ok_and(|keys| keys.current().generation == entry.generation);
                    if same_keys {
                        cache.count(true);
                        return Some(verified);
                    }
                }
            } else if issuer.keys.current().generation == entry.generation {
                if let Some(verified) = Cache::claims::<T>(&entry) {
                    cache.count(true);
                    return Some(verified);
                }
            }
        }
        cache.remove::<T>(hash);
        None
    }

    /// Remembers a verification in the cache, when one is configured.
    pub(super) fn remember<T: Send + Sync + 'static>(
        &self,
        hash: Option<[u8; 32]>,
        verified: &Verified<T>,
        issuer: usize,
        generation: u64,
        token_len: usize,
    ) {
        #[cfg(feature = "cache")]
        if let (Some(cache), Some(hash)) = (&self.cache, hash) {
            let now = self.clock.now_unix();
            cache.insert(hash, verified, issuer, generation, now, token_len);
        }
        #[cfg(not(feature = "cache"))]
        let _ = (hash, verified, issuer, generation, token_len);
    }
}
