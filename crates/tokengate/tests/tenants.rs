//! Issuer templates for multi-tenant providers and issuers with several `iss` spellings: an
//! allowed tenant is admitted with its own keys; a tenant not allowed is refused without any
//! fetch; a key of one tenant never verifies a token claiming another; a flood of invented
//! tenants costs nothing. A fetcher that serves each tenant's discovery and keys counts every
//! fetch.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use serde_json::json;
use tokengate::adapter::{Policy, RequestView};
use tokengate::clock::FixedClock;
use tokengate::error::ConfigErrorKind;
use tokengate::fetch::{FetchError, FetchErrorKind, FetchedDocument, Fetcher};
use tokengate::{Algorithm, ErrorKind, Issuer, KeySource, StandardClaims, Verifier};
use tokengate_testkit::{NOW, TestKey, claims_at, jwks};

const TEMPLATE: &str = "https://login.test/{tenantid}/v2.0";
const AUD: &str = "api://tenants";

fn iss(tenant: &str) -> String {
    TEMPLATE.replace("{tenantid}", tenant)
}

/// One key per tenant, every tenant's discovery document and JWKS, and a count of fetches.
#[derive(Clone, Default)]
struct Tenants {
    keys: HashMap<String, TestKey>,
    fetches: Arc<AtomicUsize>,
}

impl Tenants {
    fn new(names: &[&str]) -> Tenants {
        Tenants {
            keys: names
                .iter()
                .map(|name| {
                    let key = TestKey::generate(Algorithm::ES256).with_kid(format!("{name}-key"));
                    ((*name).to_owned(), key)
                })
                .collect(),
            fetches: Arc::default(),
        }
    }

    fn token(&self, key_of: &str, claimed: &str) -> String {
        self.keys[key_of].mint(&claims_at(&iss(claimed), AUD, NOW))
    }

    fn fetches(&self) -> usize {
        self.fetches.load(Ordering::SeqCst)
    }
}

#[async_trait::async_trait]
impl Fetcher for Tenants {
    async fn get(&self, url: &str, _max_body: usize) -> Result<FetchedDocument, FetchError> {
        self.fetches.fetch_add(1, Ordering::SeqCst);
        let body = self
            .keys
            .iter()
            .find_map(|(name, key)| {
                let base = iss(name);
                if url == format!("{base}/.well-known/openid-configuration") {
                    Some(json!({"issuer": base, "jwks_uri": format!("https://login.test/{name}/keys")}).to_string())
                } else if url == format!("https://login.test/{name}/keys") {
                    Some(jwks(&[key]))
                } else {
                    None
                }
            })
            .ok_or_else(|| FetchError::new(FetchErrorKind::Status, "not found"))?;
        Ok(FetchedDocument {
            status: 200,
            cache_control: None,
            body: body.into_bytes(),
        })
    }
}

fn verifier(tenants: &Tenants, issuer: Issuer) -> Verifier {
    Verifier::builder()
        .issuer(issuer.audience(AUD))
        .fetcher(tenants.clone())
        .clock(FixedClock::at(NOW))
        .build()
        .unwrap()
}

async fn decide(verifier: &Verifier, token: &str) -> Result<(), ErrorKind> {
    let mut headers = http::HeaderMap::new();
    headers.insert("authorization", format!("Bearer {token}").parse().unwrap());
    let request = RequestView::new("GET", "/", None, &headers);
    verifier
        .required_claims::<StandardClaims, _>(&request, &Policy::new(), None)
        .await
        .map(drop)
        .map_err(|answer| answer.kind())
}

#[tokio::test]
async fn allowed_tenants_are_admitted_with_their_own_keys_and_others_cost_nothing() {
    let tenants = Tenants::new(&["contoso", "fabrikam", "intruder"]);
    let verifier = verifier(
        &tenants,
        Issuer::template(TEMPLATE)
            .tenants(["contoso", "fabrikam"])
            .keys(KeySource::discover()),
    );
    assert_eq!(
        decide(&verifier, &tenants.token("contoso", "contoso")).await,
        Ok(())
    );
    assert_eq!(
        decide(&verifier, &tenants.token("fabrikam", "fabrikam")).await,
        Ok(())
    );
    let fetched = tenants.fetches();
    assert_eq!(fetched, 4, "discovery and keys, once per allowed tenant");
    // A tenant not allowed: refused before any key lookup, nothing fetched.
    assert_eq!(
        decide(&verifier, &tenants.token("intruder", "intruder")).await,
        Err(ErrorKind::InvalidIssuer)
    );
    // Cross-tenant key confusion: fabrikam's key signing a token that claims contoso.
    assert_eq!(
        decide(&verifier, &tenants.token("fabrikam", "contoso")).await,
        Err(ErrorKind::UnknownKey),
        "contoso's key set has no fabrikam key"
    );
    // A flood of invented tenants: no fetch at all.
    for n in 0..1000 {
        let invented = format!("tenant-{n}");
        let token = tenants.keys["intruder"].mint(&claims_at(&iss(&invented), AUD, NOW));
        assert_eq!(
            decide(&verifier, &token).await,
            Err(ErrorKind::InvalidIssuer)
        );
    }
    // The confusion attempt may refetch contoso's keys once (an unknown kid, under the
    // cooldown); nothing for the intruder or the invented tenants.
    assert!(
        tenants.fetches() <= fetched + 1,
        "{} fetches",
        tenants.fetches()
    );
}

#[tokio::test]
async fn a_templated_jwks_url_is_filled_in_per_tenant() {
    let tenants = Tenants::new(&["contoso", "fabrikam"]);
    let verifier = verifier(
        &tenants,
        Issuer::template(TEMPLATE)
            .tenants(["contoso", "fabrikam"])
            .keys(KeySource::jwks_url("https://login.test/{tenantid}/keys")),
    );
    assert_eq!(
        decide(&verifier, &tenants.token("contoso", "contoso")).await,
        Ok(())
    );
    assert_eq!(
        decide(&verifier, &tenants.token("fabrikam", "fabrikam")).await,
        Ok(())
    );
    assert_eq!(tenants.fetches(), 2, "one JWKS per tenant, no discovery");
    assert_eq!(
        decide(&verifier, &tenants.token("contoso", "fabrikam")).await,
        Err(ErrorKind::UnknownKey),
        "contoso's key is not among fabrikam's"
    );
}

#[tokio::test]
async fn the_entra_preset_takes_its_tenants() {
    let verifier = Verifier::builder()
        .issuer(
            Issuer::entra_id_tenants([
                "00000000-0000-0000-0000-000000000001",
                "contoso.onmicrosoft.com",
            ])
            .audience(AUD),
        )
        .build()
        .unwrap();
    let issuers: Vec<&str> = verifier.issuers().collect();
    assert_eq!(
        issuers,
        [
            "https://login.microsoftonline.com/00000000-0000-0000-0000-000000000001/v2.0",
            "https://login.microsoftonline.com/contoso.onmicrosoft.com/v2.0"
        ]
    );
}

#[tokio::test]
async fn an_issuer_with_several_spellings_accepts_each_with_its_own_keys() {
    let key = TestKey::generate(Algorithm::ES256);
    let verifier = Verifier::builder()
        .issuer(
            Issuer::new("https://tenant.eu.auth0.com/")
                .also_issued_as(["https://login.example.com/"])
                .audience(AUD)
                .keys(KeySource::jwks_json(jwks(&[&key]))),
        )
        .clock(FixedClock::at(NOW))
        .build()
        .unwrap();
    for iss in ["https://tenant.eu.auth0.com/", "https://login.example.com/"] {
        assert_eq!(
            decide(&verifier, &key.mint(&claims_at(iss, AUD, NOW))).await,
            Ok(()),
            "{iss}"
        );
    }
    assert_eq!(
        decide(
            &verifier,
            &key.mint(&claims_at("https://other.example.com/", AUD, NOW))
        )
        .await,
        Err(ErrorKind::InvalidIssuer)
    );
}

#[test]
fn template_mistakes_are_configuration_errors() {
    let build = |issuer: Issuer| {
        Verifier::builder()
            .issuer(
                issuer
                    .audience(AUD)
                    .algorithms([Algorithm::HS256])
                    .keys(KeySource::secret(vec![1u8; 32])),
            )
            .build()
            .map(drop)
            .map_err(|e| e.kind())
    };
    assert_eq!(
        build(Issuer::template(TEMPLATE)),
        Err(ConfigErrorKind::InvalidSetting),
        "no tenants: an open template is refused"
    );
    assert_eq!(
        build(Issuer::template(TEMPLATE).tenants(["a/b"])),
        Err(ConfigErrorKind::InvalidSetting),
        "a tenant cannot change the URL's path"
    );
    assert_eq!(
        build(Issuer::template("https://login.test/v2.0").tenants(["a"])),
        Err(ConfigErrorKind::InvalidSetting),
        "a template without a placeholder"
    );
    assert_eq!(
        build(Issuer::new(TEMPLATE)),
        Err(ConfigErrorKind::InvalidSetting),
        "a placeholder in a plain issuer"
    );
    assert_eq!(
        build(Issuer::template(TEMPLATE).tenants(["a", "a"])),
        Err(ConfigErrorKind::DuplicateIssuer)
    );
}

fn with_tid(tenants: &Tenants, key_of: &str, claimed: &str, tid: &str) -> String {
    let mut claims = claims_at(&iss(claimed), AUD, NOW);
    claims["tid"] = json!(tid);
    tenants.keys[key_of].mint(&claims)
}

#[tokio::test]
async fn any_tenant_is_an_opt_in_bound_to_the_tenant_claim_and_to_its_own_keys() {
    let tenants = Tenants::new(&["contoso", "fabrikam", "northwind"]);
    let verifier = verifier(
        &tenants,
        Issuer::template(TEMPLATE)
            .any_tenant_matching_claim("tid")
            .keys(KeySource::discover()),
    );
    // Any tenant whose token repeats it in `tid`, each with the keys of its own issuer.
    for name in ["contoso", "fabrikam"] {
        assert_eq!(
            decide(&verifier, &with_tid(&tenants, name, name, name)).await,
            Ok(()),
            "{name}"
        );
    }
    let mut headers = http::HeaderMap::new();
    let token = with_tid(&tenants, "contoso", "contoso", "contoso");
    headers.insert("authorization", format!("Bearer {token}").parse().unwrap());
    let request = RequestView::new("GET", "/", None, &headers);
    let admitted = verifier
        .required_claims::<StandardClaims, _>(&request, &Policy::new(), None)
        .await
        .unwrap();
    assert_eq!(admitted.issuer(), iss("contoso"), "the concrete issuer");
    // The tenant claim must name the tenant of iss.
    assert_eq!(
        decide(
            &verifier,
            &with_tid(&tenants, "contoso", "contoso", "fabrikam")
        )
        .await,
        Err(ErrorKind::InvalidIssuer)
    );
    assert_eq!(
        decide(&verifier, &tenants.token("contoso", "contoso")).await,
        Err(ErrorKind::InvalidIssuer),
        "no tenant claim"
    );
    // One tenant's key never verifies another's token.
    assert_eq!(
        decide(
            &verifier,
            &with_tid(&tenants, "fabrikam", "contoso", "contoso")
        )
        .await,
        Err(ErrorKind::UnknownKey)
    );
}

#[tokio::test]
async fn a_flood_of_invented_tenants_costs_a_bounded_number_of_fetches() {
    let tenants = Tenants::new(&["contoso", "intruder"]);
    let verifier = verifier(
        &tenants,
        Issuer::template(TEMPLATE)
            .any_tenant_matching_claim("tid")
            .keys(KeySource::jwks_url("https://login.test/{tenantid}/keys")),
    );
    assert_eq!(
        decide(
            &verifier,
            &with_tid(&tenants, "contoso", "contoso", "contoso")
        )
        .await,
        Ok(())
    );
    let before = tenants.fetches();
    let mut unavailable = 0;
    for n in 0..1000 {
        let invented = format!("tenant-{n}");
        match decide(
            &verifier,
            &with_tid(&tenants, "intruder", &invented, &invented),
        )
        .await
        {
            Err(ErrorKind::KeysUnavailable) => unavailable += 1,
            Err(_) => {}
            Ok(()) => panic!("an invented tenant was admitted"),
        }
    }
    let fetched = tenants.fetches() - before;
    assert!(
        fetched <= 10,
        "{fetched} fetches for 1,000 invented tenants"
    );
    assert!(
        unavailable >= 990,
        "new tenants past the budget wait ({unavailable})"
    );
    // A known tenant is unaffected by the flood.
    assert_eq!(
        decide(
            &verifier,
            &with_tid(&tenants, "contoso", "contoso", "contoso")
        )
        .await,
        Ok(())
    );
}

#[test]
fn any_tenant_needs_remote_keys_and_no_introspection() {
    let error = Verifier::builder()
        .issuer(
            Issuer::template(TEMPLATE)
                .any_tenant_matching_claim("tid")
                .audience(AUD)
                .algorithms([Algorithm::HS256])
                .keys(KeySource::secret(vec![1u8; 32])),
        )
        .build()
        .unwrap_err();
    assert_eq!(error.kind(), ConfigErrorKind::InvalidSetting);
}

/// Where a template meets an issuer rule: `require_dpop` holds for every tenant of it.
#[tokio::test]
async fn an_any_tenant_templates_rules_hold_for_each_tenant() {
    let tenants = Tenants::new(&["contoso"]);
    let verifier = verifier(
        &tenants,
        Issuer::template(TEMPLATE)
            .any_tenant_matching_claim("tid")
            .require_dpop()
            .keys(KeySource::discover()),
    );
    assert_eq!(
        decide(
            &verifier,
            &with_tid(&tenants, "contoso", "contoso", "contoso")
        )
        .await,
        Err(ErrorKind::DpopRequired)
    );
}

/// Where a tenant meets the cache and the revocation list: a cached tenant token is served
/// under its tenant's key set, and a revocation names the concrete issuer.
#[tokio::test]
async fn a_tenants_token_is_cached_under_its_keys_and_revoked_by_its_concrete_issuer() {
    let tenants = Tenants::new(&["contoso"]);
    let verifier = Verifier::builder()
        .issuer(
            Issuer::template(TEMPLATE)
                .any_tenant_matching_claim("tid")
                .audience(AUD)
                .keys(KeySource::discover()),
        )
        .fetcher(tenants.clone())
        .cache(tokengate::cache::TokenCache::new())
        .revocation(tokengate::store::MemoryRevocationList::default().clock(FixedClock::at(NOW)))
        .clock(FixedClock::at(NOW))
        .build()
        .unwrap();
    let mut claims = claims_at(&iss("contoso"), AUD, NOW);
    claims["tid"] = json!("contoso");
    claims["jti"] = json!("t-1");
    let token = tenants.keys["contoso"].mint(&claims);
    assert_eq!(decide(&verifier, &token).await, Ok(()));
    assert_eq!(decide(&verifier, &token).await, Ok(()));
    let stats = verifier.cache_stats().unwrap();
    assert_eq!(
        (stats.hits, stats.misses),
        (1, 1),
        "the second is a cache hit"
    );
    verifier
        .revoke_jti(&iss("contoso"), "t-1", NOW + 600)
        .await
        .unwrap();
    assert_eq!(decide(&verifier, &token).await, Err(ErrorKind::Revoked));
}

/// The same rules end to end, against the testkit issuer serving several tenants over HTTP.
mod over_http {
    use super::*;
    use tokengate_testkit::IssuerServer;

    async fn admitted(
        verifier: &Verifier,
        key: &TestKey,
        iss: &str,
        tid: Option<&str>,
    ) -> Result<(), ErrorKind> {
        let now = tokengate_testkit::now();
        let mut claims = claims_at(iss, AUD, now);
        if let Some(tid) = tid {
            claims["tid"] = json!(tid);
        }
        decide(verifier, &key.mint(&claims)).await
    }

    #[tokio::test]
    async fn an_allow_list_serves_its_tenants_and_fetches_nothing_for_others() {
        let server = IssuerServer::start().await;
        let contoso = server.add_tenant("contoso");
        let fabrikam = server.add_tenant("fabrikam");
        let intruder = server.add_tenant("intruder");
        let verifier = Verifier::builder()
            .issuer(
                Issuer::template(server.tenant_template())
                    .tenants(["contoso", "fabrikam"])
                    .audience(AUD)
                    .keys(KeySource::discover()),
            )
            .build()
            .unwrap();
        assert_eq!(
            admitted(&verifier, &contoso, &server.tenant_issuer("contoso"), None).await,
            Ok(())
        );
        assert_eq!(
            admitted(
                &verifier,
                &fabrikam,
                &server.tenant_issuer("fabrikam"),
                None
            )
            .await,
            Ok(())
        );
        let requests = server.tenant_requests();
        assert_eq!(
            admitted(
                &verifier,
                &intruder,
                &server.tenant_issuer("intruder"),
                None
            )
            .await,
            Err(ErrorKind::InvalidIssuer)
        );
        for n in 0..1000 {
            let iss = server.tenant_issuer(&format!("invented-{n}"));
            assert_eq!(
                admitted(&verifier, &intruder, &iss, None).await,
                Err(ErrorKind::InvalidIssuer)
            );
        }
        assert_eq!(
            server.tenant_requests(),
            requests,
            "no fetch for a tenant not allowed"
        );
        // fabrikam's key signing as contoso: refused (contoso's keys are its own).
        assert_eq!(
            admitted(&verifier, &fabrikam, &server.tenant_issuer("contoso"), None).await,
            Err(ErrorKind::UnknownKey)
        );
    }

    #[tokio::test]
    async fn any_tenant_fetches_a_bounded_number_of_key_sets() {
        let server = IssuerServer::start().await;
        let contoso = server.add_tenant("contoso");
        let intruder = server.add_tenant("intruder");
        let verifier = Verifier::builder()
            .issuer(
                Issuer::template(server.tenant_template())
                    .any_tenant_matching_claim("tid")
                    .audience(AUD)
                    .keys(KeySource::discover()),
            )
            // One minute of the new-tenant budget, whatever the wall clock does meanwhile.
            .clock(FixedClock::at(tokengate_testkit::now()))
            .build()
            .unwrap();
        assert_eq!(
            admitted(
                &verifier,
                &contoso,
                &server.tenant_issuer("contoso"),
                Some("contoso")
            )
            .await,
            Ok(())
        );
        let requests = server.tenant_requests();
        for n in 0..1000 {
            let tenant = format!("invented-{n}");
            let outcome = admitted(
                &verifier,
                &intruder,
                &server.tenant_issuer(&tenant),
                Some(&tenant),
            )
            .await;
            assert!(
                matches!(
                    outcome,
                    Err(ErrorKind::KeysUnavailable | ErrorKind::UnknownKey)
                ),
                "an invented tenant is never admitted: {outcome:?}"
            );
        }
        let fetched = server.tenant_requests() - requests;
        assert!(
            fetched <= 10,
            "{fetched} requests for 1,000 invented tenants"
        );
        assert_eq!(
            admitted(
                &verifier,
                &contoso,
                &server.tenant_issuer("contoso"),
                Some("contoso")
            )
            .await,
            Ok(()),
            "a known tenant is still served"
        );
    }
}
