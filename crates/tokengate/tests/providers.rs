//! Provider presets: issuer URLs and where each provider puts scopes, roles and the audience.
//! Keys are given statically here (the presets default to discovery).

mod support;

use serde_json::json;
use support::*;
use tokengate::{Algorithm, ErrorKind, Issuer, KeySource, Requirement, Verifier};
use tokengate_testkit::{NOW, TestKey, jwks};

fn verify_with(
    issuer: Issuer,
    key: &TestKey,
    claims: serde_json::Value,
) -> Result<tokengate::Verified<tokengate::StandardClaims>, ErrorKind> {
    let verifier = verifier_with(issuer.keys(KeySource::jwks_json(jwks(&[key]))));
    verify(&verifier, &key.mint(&claims))
}

#[test]
fn issuer_urls() {
    let iss = |issuer: Issuer| {
        Verifier::builder()
            .issuer(issuer.audience("a"))
            .build()
            .unwrap()
            .issuers()
            .next()
            .unwrap()
            .to_owned()
    };
    assert_eq!(
        iss(Issuer::okta("dev-1.okta.com", "default")),
        "https://dev-1.okta.com/oauth2/default"
    );
    assert_eq!(
        iss(Issuer::auth0("acme.eu.auth0.com")),
        "https://acme.eu.auth0.com/"
    );
    assert_eq!(
        iss(Issuer::keycloak("https://sso.acme.test/", "staff")),
        "https://sso.acme.test/realms/staff"
    );
    assert_eq!(
        iss(Issuer::entra_id("7f1c0d4e-0000-4000-8000-000000000000")),
        "https://login.microsoftonline.com/7f1c0d4e-0000-4000-8000-000000000000/v2.0"
    );
    assert_eq!(iss(Issuer::google()), "https://accounts.google.com");
    assert_eq!(
        iss(Issuer::cognito("eu-west-1", "eu-west-1_AbC123")),
        "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbC123"
    );
}

#[test]
fn okta_scp_array() {
    let key = key(Algorithm::RS256);
    let issuer = Issuer::okta("dev-1.okta.com", "default").audience("api://default");
    let claims = json!({"iss": "https://dev-1.okta.com/oauth2/default", "aud": "api://default", "exp": NOW + 60, "sub": "00u1", "scp": ["openid", "orders:read"], "cid": "0oa1"});
    let verified = verify_with(issuer, &key, claims).unwrap();
    assert!(verified.require(&Requirement::all(["orders:read"])).is_ok());
}

#[test]
fn auth0_permissions_are_scopes() {
    let key = key(Algorithm::RS256);
    let issuer = Issuer::auth0("acme.auth0.com").audience("https://api.acme.test");
    let claims = json!({"iss": "https://acme.auth0.com/", "aud": ["https://api.acme.test", "https://acme.auth0.com/userinfo"], "exp": NOW + 60, "sub": "auth0|1", "scope": "openid profile", "permissions": ["read:orders", "write:orders"]});
    let verified = verify_with(issuer, &key, claims).unwrap();
    assert!(
        verified
            .require(&Requirement::all(["read:orders", "openid"]))
            .is_ok()
    );
    assert!(
        verified
            .require(&Requirement::all(["delete:orders"]))
            .is_err()
    );
}

#[test]
fn keycloak_realm_and_client_roles() {
    let key = key(Algorithm::RS256);
    let issuer = Issuer::keycloak("https://sso.acme.test", "staff")
        .keycloak_client_roles("orders-api")
        .audience("orders-api");
    let claims = json!({
        "iss": "https://sso.acme.test/realms/staff", "aud": ["orders-api", "account"], "exp": NOW + 60, "sub": "f:1",
        "realm_access": {"roles": ["offline_access", "staff"]},
        "resource_access": {"orders-api": {"roles": ["orders-admin"]}, "account": {"roles": ["manage-account"]}},
        "scope": "openid email",
    });
    let verified = verify_with(issuer, &key, claims).unwrap();
    assert_eq!(
        verified.roles().iter().collect::<Vec<_>>(),
        ["offline_access", "staff", "orders-admin"]
    );
    assert!(
        verified
            .require(&Requirement::any_roles(["manage-account"]))
            .is_err(),
        "another client's roles"
    );
}

#[test]
fn entra_roles_and_scp_string_per_tenant() {
    let key = key(Algorithm::RS256);
    let tenant_a = "11111111-1111-4111-8111-111111111111";
    let tenant_b = "22222222-2222-4222-8222-222222222222";
    let verifier = Verifier::builder()
        .issuer(
            Issuer::entra_id(tenant_a)
                .audience("api://orders")
                .keys(KeySource::jwks_json(jwks(&[&key]))),
        )
        .clock(tokengate::clock::FixedClock::at(NOW))
        .build()
        .unwrap();
    let claims = |tenant: &str| json!({"iss": format!("https://login.microsoftonline.com/{tenant}/v2.0"), "aud": "api://orders", "exp": NOW + 60, "sub": "x", "tid": tenant, "scp": "Orders.Read User.Read", "roles": ["Orders.Admin"]});
    let verified = verify(&verifier, &key.mint(&claims(tenant_a))).unwrap();
    assert!(verified.require(&Requirement::all(["Orders.Read"])).is_ok());
    assert!(
        verified
            .require(&Requirement::all_roles(["Orders.Admin"]))
            .is_ok()
    );
    // Another tenant's token (same Microsoft signing keys) is not accepted.
    assert_eq!(
        verify(&verifier, &key.mint(&claims(tenant_b))).unwrap_err(),
        ErrorKind::InvalidIssuer
    );
}

#[test]
fn cognito_audience_is_client_id_and_groups_are_roles() {
    let key = key(Algorithm::RS256);
    let iss = "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbC123";
    let issuer = || Issuer::cognito("eu-west-1", "eu-west-1_AbC123").audience("5ue0app0client0id");
    let access = |client_id: &str| json!({"iss": iss, "exp": NOW + 60, "sub": "u-1", "token_use": "access", "client_id": client_id, "scope": "orders/read", "cognito:groups": ["admins"]});
    let verified = verify_with(issuer(), &key, access("5ue0app0client0id")).unwrap();
    assert!(verified.require(&Requirement::all(["orders/read"])).is_ok());
    assert!(
        verified
            .require(&Requirement::any_roles(["admins"]))
            .is_ok()
    );
    assert_eq!(
        verify_with(issuer(), &key, access("someone-else")).unwrap_err(),
        ErrorKind::InvalidAudience
    );
    let mut no_client = access("x");
    no_client.as_object_mut().unwrap().remove("client_id");
    assert_eq!(
        verify_with(issuer(), &key, no_client).unwrap_err(),
        ErrorKind::MissingClaim
    );
    // An `aud` naming the app does not replace the client_id check.
    let mut with_aud = access("someone-else");
    with_aud["aud"] = json!("5ue0app0client0id");
    assert_eq!(
        verify_with(issuer(), &key, with_aud).unwrap_err(),
        ErrorKind::InvalidAudience
    );
}

#[test]
fn google_preset_uses_the_google_issuer() {
    let key = key(Algorithm::RS256);
    let claims = json!({"iss": "https://accounts.google.com", "aud": "123.apps.googleusercontent.com", "exp": NOW + 60, "sub": "1"});
    assert!(
        verify_with(
            Issuer::google().audience("123.apps.googleusercontent.com"),
            &key,
            claims
        )
        .is_ok()
    );
}
