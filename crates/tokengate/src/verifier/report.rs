//! The verifier's reports: store errors, cache counters, readiness and health, the rendered
//! answers, the RFC 9728 metadata document, and its settings.

use std::fmt;
use std::sync::atomic::Ordering;
use std::time::Duration;

use super::{StoreErrors, Verifier};
use crate::answer::{Answer, AnswerBody, Challenges};
#[cfg(feature = "cache")]
use crate::cache::Cache;
use crate::challenge::Realm;
use crate::error::{Error, ErrorKind};
use crate::health::IssuerHealth;

impl Verifier {
    /// How often each shared store could not answer (each time a request was refused with 503,
    /// or admitted where an `insecure_…_fail_open` option says so).
    #[must_use]
    pub fn store_errors(&self) -> StoreErrors {
        let counters = &self.inner.store_errors;
        StoreErrors {
            replay: counters.replay.load(Ordering::Relaxed),
            revocation: counters.revocation.load(Ordering::Relaxed),
        }
    }

    /// Counters of the verified-token cache, if one is configured.
    #[cfg(feature = "cache")]
    #[must_use]
    pub fn cache_stats(&self) -> Option<crate::cache::CacheStats> {
        self.inner.cache.as_ref().map(Cache::stats)
    }

    /// Fetches the keys of every remote issuer that has none fresh, now. Call it before
    /// serving (a readiness probe) so the first requests do not wait.
    ///
    /// # Errors
    /// `keys_unavailable` when an issuer's keys could not be fetched; its
    /// [`reason`](Error::reason) (and `Display`) names each such issuer and why — a discovery
    /// document that names another issuer (with both strings), a connection refused, ….
    pub async fn ready(&self) -> Result<(), Error> {
        let mut failed = None;
        let mut reasons = Vec::new();
        let now = self.inner.clock.now_unix();
        for state in &self.inner.issuers {
            if let Err(retry_after) = state.keys.ready(|| self.inner.clock.now_unix()).await {
                failed = Some(retry_after);
                let why = state.keys.health(&state.iss, now).last_failure_message;
                reasons.push(format!(
                    "{}: {}",
                    state.iss,
                    why.as_deref().unwrap_or("no key could be loaded")
                ));
            }
        }
        match failed {
            Some(retry_after) => {
                Err(Error::keys_unavailable(retry_after).with_reason(reasons.join("; ")))
            }
            None => Ok(()),
        }
    }

    /// A snapshot of every issuer's keys: state, last successful fetch, key count, counters.
    #[must_use]
    pub fn health(&self) -> Vec<IssuerHealth> {
        let now = self.inner.clock.now_unix();
        self.inner
            .issuers
            .iter()
            .map(|state| {
                let mut health = state.keys.health(&state.iss, now);
                health.algorithms = state
                    .keys
                    .current()
                    .algorithms()
                    .intersection(state.algorithms);
                #[cfg(feature = "remote")]
                {
                    health.introspection = state
                        .introspector
                        .as_ref()
                        .map(crate::introspect::Introspector::health);
                }
                health
            })
            .collect()
    }

    /// The answer to `error` — status, `WWW-Authenticate`, `Retry-After` and body — with this
    /// verifier's realm and settings.
    #[must_use]
    pub fn answer(&self, error: &Error) -> Answer {
        self.answer_with(error, None)
    }

    /// As [`answer`](Verifier::answer), with `body` instead of the verifier's body when given.
    pub(crate) fn answer_with(&self, error: &Error, body: Option<&dyn AnswerBody>) -> Answer {
        self.answer_in(error, body, crate::extract::Scheme::Bearer, false)
    }

    /// The answer to `error` on a request that presented its credential as `scheme` (its
    /// error goes into that scheme's challenge), on a route that accepts only DPoP-bound tokens
    /// (`dpop_only`).
    pub(crate) fn answer_in(
        &self,
        error: &Error,
        body: Option<&dyn AnswerBody>,
        scheme: crate::extract::Scheme,
        dpop_only: bool,
    ) -> Answer {
        let dpop_request = scheme == crate::extract::Scheme::Dpop;
        let inner = &self.inner;
        let body = body.unwrap_or(&*inner.body);
        let metadata = inner.resource.as_ref().map(|r| &*r.url);
        if inner.keys_unavailable_401 && error.is_unavailable() {
            return Answer::unavailable_as_unauthorized(error.kind(), &inner.realm, metadata, body);
        }
        let dpop = inner.dpop.as_ref();
        let context = Challenges {
            resource_metadata: metadata,
            dpop_algs: dpop.map(|d| &*d.algs),
            dpop_request,
            dpop_only: dpop.is_some() && (dpop_only || dpop.is_some_and(|d| d.dpop.required)),
            api_keys: inner.api_keys.is_some(),
            api_key_request: scheme == crate::extract::Scheme::ApiKey,
        };
        let nonce = match (error.kind(), dpop.and_then(|d| d.dpop.nonces.as_ref())) {
            (ErrorKind::UseDpopNonce, Some(nonces)) => Some(nonces.current(inner.clock.now_unix())),
            _ => None,
        };
        Answer::render_for(error, &inner.realm, context, nonce, body)
    }

    /// The protected resource's metadata document (RFC 9728), when one is configured: the
    /// path to serve it at (on the resource's host) and the response to serve. Every adapter
    /// mounts it in one line.
    #[must_use]
    pub fn resource_metadata(&self) -> Option<(&str, http::Response<bytes::Bytes>)> {
        let resource = self.inner.resource.as_ref()?;
        Some((&resource.path, resource.response()))
    }

    /// A readiness answer for probes (Kubernetes `readinessProbe`), any framework: 200 when
    /// every issuer's keys are usable (static, fresh, or stale but served), else 503; the JSON
    /// body names each issuer's state and key count (configuration, no secrets). It reads the
    /// current state and fetches nothing: pair it with [`ready`](Verifier::ready) at start.
    #[must_use]
    pub fn readiness(&self) -> http::Response<bytes::Bytes> {
        let issuers = self.health();
        let ready = issuers
            .iter()
            .all(|i| i.state != crate::health::KeysState::Failing);
        let body = serde_json::json!({
            "ready": ready,
            "issuers": issuers
                .iter()
                .map(|i| serde_json::json!({
                    "issuer": i.issuer,
                    "state": format!("{:?}", i.state).to_lowercase(),
                    "keys": i.key_count,
                    "consecutive_failures": i.consecutive_failures,
                }))
                .collect::<Vec<_>>(),
        });
        let mut response = http::Response::new(bytes::Bytes::from(body.to_string()));
        if !ready {
            *response.status_mut() = http::StatusCode::SERVICE_UNAVAILABLE;
        }
        response.headers_mut().insert(
            http::header::CONTENT_TYPE,
            http::HeaderValue::from_static("application/json"),
        );
        response.headers_mut().insert(
            http::header::CACHE_CONTROL,
            http::HeaderValue::from_static("no-store"),
        );
        response
    }

    /// The configured realm.
    #[must_use]
    pub fn realm(&self) -> &Realm {
        &self.inner.realm
    }

    /// The configured leeway.
    #[must_use]
    pub fn leeway(&self) -> Duration {
        Duration::from_secs(self.inner.leeway)
    }

    /// The `iss` values of the configured issuers.
    pub fn issuers(&self) -> impl Iterator<Item = &str> {
        self.inner.issuers.iter().map(|i| &*i.iss)
    }
}

impl fmt::Debug for Verifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let issuers: Vec<_> = self
            .inner
            .issuers
            .iter()
            .map(|i| (&*i.iss, i.algorithms, i.keys.current().len()))
            .collect();
        f.debug_struct("Verifier")
            .field("issuers(iss, algorithms, key count)", &issuers)
            .field("leeway_secs", &self.inner.leeway)
            .field("realm", &self.inner.realm)
            .field("max_token_bytes", &self.inner.max_token_bytes)
            .finish_non_exhaustive()
    }
}
