//! Presets for common identity providers: the issuer URL, discovery, and where each provider
//! puts scopes, roles and the audience. Add `.audience(..)` (and optionally `.keys(..)`) as
//! usual. See `docs/providers.md`.
//!
//! ```
//! use tokengate::{Issuer, Verifier};
//! let verifier = Verifier::builder()
//!     .issuer(Issuer::okta("dev-123.okta.com", "default").audience("api://default"))
//!     .issuer(Issuer::keycloak("https://sso.example.com", "staff").audience("orders-api"))
//!     .build()
//!     .unwrap();
//! assert_eq!(
//!     verifier.issuers().collect::<Vec<_>>(),
//!     ["https://dev-123.okta.com/oauth2/default", "https://sso.example.com/realms/staff"]
//! );
//! ```

use crate::issuer::Issuer;
#[cfg(feature = "remote")]
use crate::issuer::KeySource;

/// An identity provider whose claim conventions tokengate knows: where scopes, roles and the
/// audience are. [`Issuer::preset`] applies them to an issuer with an explicit `iss`;
/// configuration files name them (`okta`, `auth0`, `keycloak`, `entra_id`, `google`,
/// `cognito`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Provider {
    /// Okta: scopes in `scp` (read by default).
    Okta,
    /// Auth0: API permissions (RBAC) in `permissions`, read as scopes.
    Auth0,
    /// Keycloak: roles in `realm_access.roles`.
    Keycloak,
    /// Microsoft Entra ID: app roles in `roles`, delegated scopes in `scp` (both by default).
    EntraId,
    /// Google: nothing beyond the defaults.
    Google,
    /// Amazon Cognito: the audience in `client_id`, groups in `cognito:groups` as roles.
    Cognito,
}

impl Provider {
    /// Every provider, in the order of the documentation.
    pub const ALL: [Provider; 6] = [
        Provider::Okta,
        Provider::Auth0,
        Provider::Keycloak,
        Provider::EntraId,
        Provider::Google,
        Provider::Cognito,
    ];

    /// The name configuration files use.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Provider::Okta => "okta",
            Provider::Auth0 => "auth0",
            Provider::Keycloak => "keycloak",
            Provider::EntraId => "entra_id",
            Provider::Google => "google",
            Provider::Cognito => "cognito",
        }
    }
}

impl std::str::FromStr for Provider {
    type Err = UnknownProvider;

    fn from_str(name: &str) -> Result<Provider, UnknownProvider> {
        Provider::ALL
            .into_iter()
            .find(|p| p.name() == name)
            .ok_or(UnknownProvider)
    }
}

impl std::fmt::Display for Provider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// A provider name that is none of [`Provider::ALL`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UnknownProvider;

impl std::fmt::Display for UnknownProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("unknown provider (okta, auth0, keycloak, entra_id, google, cognito)")
    }
}

impl std::error::Error for UnknownProvider {}

impl Issuer {
    /// Applies `provider`'s claim conventions (not its keys: add `.keys(..)`, usually
    /// [`KeySource::discover`](crate::KeySource::discover)).
    pub fn preset(self, provider: Provider) -> Issuer {
        match provider {
            Provider::Okta | Provider::EntraId | Provider::Google => self,
            Provider::Auth0 => self.scopes_claim("permissions"),
            Provider::Keycloak => self.roles_claim(["realm_access", "roles"]),
            Provider::Cognito => self
                .audience_claim("client_id")
                .roles_claim(["cognito:groups"]),
        }
    }
}

impl Issuer {
    /// Okta custom authorization server (`default` or another id):
    /// `https://{domain}/oauth2/{authorization_server}`. Scopes arrive as an `scp` array (read by
    /// default); keys by discovery.
    pub fn okta(domain: &str, authorization_server: &str) -> Issuer {
        Issuer::new(format!("https://{domain}/oauth2/{authorization_server}")).with_discovery()
    }

    /// Auth0 tenant or custom domain: `https://{domain}/` (with the trailing slash Auth0 puts
    /// in `iss`). With RBAC enabled, API permissions arrive in `permissions`: read as scopes.
    pub fn auth0(domain: &str) -> Issuer {
        Issuer::new(format!("https://{domain}/"))
            .with_discovery()
            .preset(Provider::Auth0)
    }

    /// Keycloak realm: `{base_url}/realms/{realm}`. Roles from `realm_access.roles`; add client
    /// roles with [`keycloak_client_roles`](Issuer::keycloak_client_roles).
    pub fn keycloak(base_url: &str, realm: &str) -> Issuer {
        let base = base_url.trim_end_matches('/');
        Issuer::new(format!("{base}/realms/{realm}"))
            .with_discovery()
            .preset(Provider::Keycloak)
    }

    /// Also read Keycloak client roles of `client_id` (`resource_access.{client_id}.roles`).
    pub fn keycloak_client_roles(self, client_id: &str) -> Issuer {
        self.add_roles_claim(["resource_access", client_id, "roles"])
    }

    /// Microsoft Entra ID v2.0 tokens of one tenant:
    /// `https://login.microsoftonline.com/{tenant_id}/v2.0`. App roles arrive in `roles` (read
    /// by default), delegated scopes as an `scp` string (read by default). Each tenant has its
    /// own `iss`: for a multi-tenant app add one issuer per tenant you accept. (v1.0 tokens use
    /// `https://sts.windows.net/{tenant_id}/`: configure that with `Issuer::new`.)
    pub fn entra_id(tenant_id: &str) -> Issuer {
        Issuer::new(format!(
            "https://login.microsoftonline.com/{tenant_id}/v2.0"
        ))
        .with_discovery()
    }

    /// Entra ID multi-tenant applications: tokens from each of `tenant_ids`
    /// (`https://login.microsoftonline.com/{tenantid}/v2.0`), each tenant with its own
    /// discovery and keys; any other tenant is refused without a fetch.
    pub fn entra_id_tenants<I: IntoIterator<Item = S>, S: Into<String>>(tenant_ids: I) -> Issuer {
        Issuer::template("https://login.microsoftonline.com/{tenantid}/v2.0")
            .tenants(tenant_ids)
            .with_discovery()
    }

    /// Google: `https://accounts.google.com`. Google's access tokens are opaque; the JWTs it
    /// signs are ID tokens (audience: your OAuth client id), so verify those only where an ID
    /// token is what you expect.
    pub fn google() -> Issuer {
        Issuer::new("https://accounts.google.com").with_discovery()
    }

    /// Amazon Cognito user pool: `https://cognito-idp.{region}.amazonaws.com/{user_pool_id}`.
    /// Access tokens carry no `aud`: the audience is checked against `client_id` (configure
    /// your app client id with `.audience(..)`). Groups arrive in `cognito:groups`: read as
    /// roles.
    pub fn cognito(region: &str, user_pool_id: &str) -> Issuer {
        Issuer::new(format!(
            "https://cognito-idp.{region}.amazonaws.com/{user_pool_id}"
        ))
        .with_discovery()
        .preset(Provider::Cognito)
    }
}

impl Issuer {
    /// Keys by discovery (feature `remote`, on by default); without it the caller adds
    /// `.keys(..)`, or `build` reports the missing key source.
    fn with_discovery(self) -> Issuer {
        #[cfg(feature = "remote")]
        let issuer = self.keys(KeySource::discover());
        #[cfg(not(feature = "remote"))]
        let issuer = self;
        issuer
    }
}
