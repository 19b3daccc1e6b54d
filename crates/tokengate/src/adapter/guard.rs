//! [`Guard`]: a verifier and a route's [`Policy`] — the one builder behind every adapter's
//! layer, middleware and filter — and [`Rejection`], the one refusal type behind their
//! extractors. Each adapter wraps them in its own types (the framework's traits need local
//! types) with [`guard_options!`](crate::guard_options) and
//! [`define_rejection!`](crate::define_rejection), so a new route option is written once, here,
//! and every adapter has it (`docs/architecture.md`, "One guard").

use std::fmt;
use std::marker::PhantomData;
use std::sync::Arc;

use serde::de::DeserializeOwned;

use super::claims::PendingClaims;
use super::pipeline::Decision;
use super::policy::Policy;
use crate::answer::Answer;
use crate::claims::{StandardClaims, Verified};
use crate::error::Error;
use crate::request::{RequestHeaders, RequestView};
use crate::verifier::Verifier;

/// A verifier and the policy of the routes it guards, with the claims type `T` they are
/// deserialized into. Cloning costs two reference counts.
///
/// ```
/// use tokengate::adapter::{Guard, Policy};
/// use tokengate::{Issuer, KeySource, Requirement, Verifier};
/// # let verifier = Verifier::builder()
/// #     .issuer(Issuer::new("https://auth.example.com/").audience("api").keys(KeySource::discover()))
/// #     .build().unwrap();
/// let guard = Guard::new(verifier)
///     .map_policy(|policy| policy.require(Requirement::all(["orders:read"])))
///     .claims::<serde_json::Value>();
/// assert!(!guard.policy().allows_anonymous());
/// ```
#[must_use]
pub struct Guard<T = StandardClaims> {
    verifier: Verifier,
    policy: Arc<Policy>,
    _claims: PhantomData<fn() -> T>,
}

impl<T> Clone for Guard<T> {
    fn clone(&self) -> Self {
        Guard {
            verifier: self.verifier.clone(),
            policy: Arc::clone(&self.policy),
            _claims: PhantomData,
        }
    }
}

impl<T> fmt::Debug for Guard<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Guard")
            .field("verifier", &self.verifier)
            .field("policy", &self.policy)
            .finish()
    }
}

impl Guard<StandardClaims> {
    /// A guard verifying with `verifier` into [`StandardClaims`], credentials required.
    pub fn new(verifier: Verifier) -> Self {
        Guard {
            verifier,
            policy: Arc::new(Policy::new()),
            _claims: PhantomData,
        }
    }
}

impl<T> Guard<T> {
    /// Deserialize the claims into `U` instead.
    pub fn claims<U>(self) -> Guard<U> {
        Guard {
            verifier: self.verifier,
            policy: self.policy,
            _claims: PhantomData,
        }
    }

    /// The policy changed by `change` (every route option is a [`Policy`] method).
    pub fn map_policy(self, change: impl FnOnce(Policy) -> Policy) -> Self {
        let policy = Arc::unwrap_or_clone(self.policy);
        Guard {
            verifier: self.verifier,
            policy: Arc::new(change(policy)),
            _claims: PhantomData,
        }
    }

    /// The verifier.
    pub fn verifier(&self) -> &Verifier {
        &self.verifier
    }

    /// The policy.
    pub fn policy(&self) -> &Policy {
        &self.policy
    }
}

impl<T> Guard<T>
where
    T: DeserializeOwned + Send + Sync + 'static,
{
    /// The decision for one request ([`Verifier::decide`] with this guard's policy); `earlier`
    /// is what an outer guard admitted, if anything.
    pub fn decide<H>(
        &self,
        request: &RequestView<'_, H>,
        earlier: Option<&Verified<T>>,
    ) -> Decision<T>
    where
        H: RequestHeaders + ?Sized,
    {
        self.verifier.decide(request, &self.policy, earlier)
    }

    /// The claims for an extractor or filter ([`Verifier::verified_claims`]): `None` only for
    /// an anonymous request this guard's policy allows.
    ///
    /// # Errors
    /// The [`Answer`] when the request is refused.
    pub async fn verified_claims<H>(
        &self,
        request: &RequestView<'_, H>,
        earlier: Option<&Verified<T>>,
    ) -> Result<Option<Verified<T>>, Answer>
    where
        H: RequestHeaders + Sync + ?Sized,
    {
        self.verifier
            .verified_claims(request, &self.policy, earlier)
            .await
    }

    /// The claims for a route that requires credentials, decided now when nothing waits
    /// ([`Verifier::required_claims_now`]).
    ///
    /// # Errors
    /// [`PendingClaims`] when the decision waits for I/O.
    pub fn required_claims_now<H>(
        &self,
        request: &RequestView<'_, H>,
        earlier: Option<&Verified<T>>,
    ) -> Result<Result<Verified<T>, Answer>, PendingClaims<T>>
    where
        H: RequestHeaders + ?Sized,
    {
        self.verifier
            .required_claims_now(request, &self.policy, earlier)
    }
}

/// A request refused by tokengate: the core's [`Answer`] (status, challenge headers, the
/// verifier's body), sent unchanged. Each adapter's `AuthRejection` wraps one
/// ([`define_rejection!`](crate::define_rejection)) and adds its framework's response trait.
///
/// `Debug` and `Display` show only the status and the stable error code.
///
/// ```
/// use tokengate::adapter::Rejection;
/// use tokengate::{Error, ErrorKind};
/// let rejection = Rejection::from(Error::from(ErrorKind::InsufficientScope));
/// assert_eq!(rejection.answer().status(), 403);
/// ```
#[derive(Debug, Clone)]
pub struct Rejection(Answer);

impl Rejection {
    /// The answer to send.
    #[must_use]
    pub fn answer(&self) -> &Answer {
        &self.0
    }

    /// The answer, owned.
    #[must_use]
    pub fn into_answer(self) -> Answer {
        self.0
    }
}

impl From<Answer> for Rejection {
    fn from(answer: Answer) -> Self {
        Rejection(answer)
    }
}

/// For a handler's own checks: `claims.require(&Requirement::all(["orders:write"]))?` answers
/// 403 with the default realm and plain-text body ([`Answer::with_defaults`]).
impl From<Error> for Rejection {
    fn from(error: Error) -> Self {
        Rejection(Answer::with_defaults(&error))
    }
}

impl fmt::Display for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl std::error::Error for Rejection {}

/// Every route option of [`Guard`], as methods of an adapter's guard type.
///
/// `guard_options!(AuthLayer { guard })` writes, for a struct `AuthLayer<T>` whose one field
/// `guard` holds a [`Guard<T>`]: `new(verifier)`, `From<Guard<T>>`, `claims`, `optional`,
/// `require`, `require_scopes`, `require_dpop`, `answer_body`, `policy`, `check` (with the
/// core's `checks` feature), `verifier`, `guard`, and `Clone` and `Debug`. With more fields,
/// `guard_options!(McpAuthLayer { guard, mcp })` writes all but `new` and `From`. A new
/// option is one line here and every adapter has it; each adapter's `tests/options.rs` lists
/// them all.
#[macro_export]
macro_rules! guard_options {
    ($name:ident { $field:ident }) => {
        impl $name<$crate::StandardClaims> {
            /// A guard verifying with `verifier` into [`StandardClaims`]($crate::StandardClaims),
            /// credentials required.
            pub fn new(verifier: $crate::Verifier) -> Self {
                $name { $field: $crate::adapter::Guard::new(verifier) }
            }
        }

        impl<T> ::std::convert::From<$crate::adapter::Guard<T>> for $name<T> {
            fn from(guard: $crate::adapter::Guard<T>) -> Self {
                $name { $field: guard }
            }
        }

        $crate::guard_options!($name { $field, });
    };
    ($name:ident { $field:ident, $($rest:ident),* $(,)? }) => {
        impl<T> $name<T> {
            /// Deserialize the claims into `U` instead.
            pub fn claims<U>(self) -> $name<U> {
                $name { $field: self.$field.claims::<U>() $(, $rest: self.$rest)* }
            }

            /// Let requests without credentials through (with no `Verified` for them).
            /// Requests *with* credentials are still verified, and rejected when bad — a forged
            /// token never passes as anonymous. A requirement makes credentials necessary again.
            pub fn optional(self) -> Self {
                self.map_guard(|g| g.map_policy($crate::adapter::Policy::optional))
            }

            /// Admit only DPoP-bound tokens with a valid proof: bearer tokens are refused (401
            /// `invalid_token` in the `DPoP` challenge, `dpop_required`).
            pub fn require_dpop(self) -> Self {
                self.map_guard(|g| g.map_policy($crate::adapter::Policy::require_dpop))
            }

            /// Also require scopes or roles (403 `insufficient_scope` otherwise). A token
            /// already verified by an outer guard of the same verifier is not verified again;
            /// this requirement is still checked.
            pub fn require(self, requirement: $crate::Requirement) -> Self {
                self.map_guard(|g| g.map_policy(|p| p.require(requirement)))
            }

            /// Require every one of these scopes (see `require`).
            pub fn require_scopes<I, S>(self, scopes: I) -> Self
            where
                I: IntoIterator<Item = S>,
                S: Into<String>,
            {
                self.require($crate::Requirement::all(scopes))
            }

            /// The body of these answers instead of the verifier's
            /// (`VerifierBuilder::answer_body`, which also reaches the extractors). The status
            /// and challenge headers stay as they are.
            pub fn answer_body(self, body: impl $crate::AnswerBody) -> Self {
                self.map_guard(|g| g.map_policy(|p| p.answer_body(body)))
            }

            /// Also require everything `policy` requires (its requirement, DPoP, checks, body).
            pub fn policy(self, policy: $crate::adapter::Policy) -> Self {
                self.map_guard(|g| g.map_policy(|p| p.and(policy)))
            }

            $crate::__guard_check_option!();

            /// The verifier.
            pub fn verifier(&self) -> &$crate::Verifier {
                self.$field.verifier()
            }

            /// The core guard: the verifier and the policy.
            pub fn guard(&self) -> &$crate::adapter::Guard<T> {
                &self.$field
            }

            fn map_guard(
                self,
                change: impl FnOnce($crate::adapter::Guard<T>) -> $crate::adapter::Guard<T>,
            ) -> Self {
                $name { $field: change(self.$field) $(, $rest: self.$rest)* }
            }
        }

        impl<T> ::std::clone::Clone for $name<T> {
            fn clone(&self) -> Self {
                $name { $field: self.$field.clone() $(, $rest: self.$rest.clone())* }
            }
        }

        impl<T> ::std::fmt::Debug for $name<T> {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.debug_struct(stringify!($name))
                    .field("guard", &self.$field)
                    .finish_non_exhaustive()
            }
        }
    };
}

/// The `check` option, present exactly when the core has custom checks.
#[cfg(feature = "checks")]
#[doc(hidden)]
#[macro_export]
macro_rules! __guard_check_option {
    () => {
        /// Also run a custom check (after the built-in ones and the verifier's): a closure
        /// `Fn(&CheckContext<'_>) -> impl Future<Output = Verdict>` or a
        /// [`CustomCheck`]($crate::checks::CustomCheck).
        pub fn check(self, check: impl $crate::checks::CustomCheck) -> Self {
            self.map_guard(|g| g.map_policy(|p| p.check(check)))
        }
    };
}

/// The `check` option, present exactly when the core has custom checks.
#[cfg(not(feature = "checks"))]
#[doc(hidden)]
#[macro_export]
macro_rules! __guard_check_option {
    () => {};
}

/// An adapter's rejection type: `define_rejection!(AuthRejection)` writes a newtype over
/// [`Rejection`] with `answer()`, `into_answer()`, `From<Answer>`, `From<Error>` (for `?` on
/// a handler's own `require`), `From<Rejection>`, `Display`, `Error` and `Debug` (status and
/// stable code only). The adapter adds its framework's response trait.
#[macro_export]
macro_rules! define_rejection {
    ($(#[$meta:meta])* $name:ident) => {
        $(#[$meta])*
        #[derive(Clone)]
        pub struct $name($crate::adapter::Rejection);

        impl ::std::fmt::Debug for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.debug_tuple(stringify!($name)).field(self.0.answer()).finish()
            }
        }

        impl $name {
            /// The answer to send.
            #[must_use]
            pub fn answer(&self) -> &$crate::Answer {
                self.0.answer()
            }

            /// The answer, owned.
            #[must_use]
            pub fn into_answer(self) -> $crate::Answer {
                self.0.into_answer()
            }
        }

        impl ::std::convert::From<$crate::adapter::Rejection> for $name {
            fn from(rejection: $crate::adapter::Rejection) -> Self {
                $name(rejection)
            }
        }

        impl ::std::convert::From<$crate::Answer> for $name {
            fn from(answer: $crate::Answer) -> Self {
                $name(answer.into())
            }
        }

        /// For a handler's own checks: `claims.require(&Requirement::all(["orders:write"]))?`
        /// answers 403 with the default realm and plain-text body.
        impl ::std::convert::From<$crate::Error> for $name {
            fn from(error: $crate::Error) -> Self {
                $name(error.into())
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                ::std::fmt::Display::fmt(&self.0, f)
            }
        }

        impl ::std::error::Error for $name {}
    };
}

/// An adapter's claims extractors: `claims_extractors!()` writes `Claims<T>` (the verified
/// claims, `Deref` to [`Verified<T>`]) and `Scoped<R, T>` (claims that also hold every scope
/// of `R`), with `Clone`/`Debug`. The adapter adds its framework's extractor trait, calling the
/// core through [`Guard`].
#[macro_export]
macro_rules! claims_extractors {
    () => {
        /// Verified claims of the request's token: what an outer guard admitted (its
        /// requirement already checked), or verified here with the verifier the application
        /// provides (extractor-only mode). No verifier anywhere is a wiring bug: 500 and an
        /// error log.
        #[derive(Clone)]
        pub struct Claims<T = $crate::StandardClaims>(pub $crate::Verified<T>);

        impl<T> ::std::ops::Deref for Claims<T> {
            type Target = $crate::Verified<T>;
            fn deref(&self) -> &$crate::Verified<T> {
                &self.0
            }
        }

        impl<T> ::std::fmt::Debug for Claims<T> {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.debug_tuple("Claims").field(&self.0).finish()
            }
        }

        /// [`Claims`] that also hold every scope of `R`, else 403 `insufficient_scope` with
        /// the `scope` parameter.
        pub struct Scoped<R, T = $crate::StandardClaims>(
            pub Claims<T>,
            ::std::marker::PhantomData<fn() -> R>,
        );

        impl<R, T> Scoped<R, T> {
            fn new(claims: Claims<T>) -> Self {
                Scoped(claims, ::std::marker::PhantomData)
            }

            /// The policy of `R`'s scopes.
            fn policy() -> $crate::adapter::Policy
            where
                R: $crate::RequiredScopes,
            {
                $crate::adapter::Policy::new().require($crate::Requirement::all_static(R::SCOPES))
            }
        }

        impl<R, T> ::std::ops::Deref for Scoped<R, T> {
            type Target = $crate::Verified<T>;
            fn deref(&self) -> &$crate::Verified<T> {
                &self.0.0
            }
        }

        impl<R, T> ::std::fmt::Debug for Scoped<R, T> {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.debug_tuple("Scoped").field(&self.0).finish()
            }
        }
    };
}
