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
            .scopes_claim("permissions")
    }

    /// Keycloak realm: `{base_url}/realms/{realm}`. Roles from `realm_access.roles`; add client
    /// roles with [`keycloak_client_roles`](Issuer::keycloak_client_roles).
    pub fn keycloak(base_url: &str, realm: &str) -> Issuer {
        let base = base_url.trim_end_matches('/');
        Issuer::new(format!("{base}/realms/{realm}"))
            .with_discovery()
            .roles_claim(["realm_access", "roles"])
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
        .audience_claim("client_id")
        .roles_claim(["cognito:groups"])
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
