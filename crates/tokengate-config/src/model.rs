//! The configuration model: what a TOML file (and the `TOKENGATE_*` environment) can say. Every
//! default is the builder's; every table refuses unknown keys.

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;

use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};

/// The whole configuration of one verifier.
///
/// One issuer can be written flat (`issuer`, `audience`, …: the examples' `TOKENGATE_*`
/// variables), several as `[[issuers]]` tables; not both.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
#[non_exhaustive]
pub struct Config {
    /// The one issuer's `iss` (`TOKENGATE_ISSUER`).
    pub issuer: Option<String>,
    /// Its audiences (`TOKENGATE_AUDIENCE`, comma-separated).
    pub audience: Option<List>,
    /// Its provider preset (`okta`, `auth0`, `keycloak`, `entra_id`, `google`, `cognito`).
    pub preset: Option<String>,
    /// With a templated `issuer` (one `{name}`), the allowed tenants (`TOKENGATE_TENANTS`).
    pub tenants: Option<List>,
    /// Opt-in instead of `tenants`: any tenant whose token repeats it in this claim
    /// (`TOKENGATE_ANY_TENANT_CLAIM=tid`).
    pub any_tenant_claim: Option<String>,
    /// Its keys from this JWKS URL (default: OIDC discovery).
    pub jwks_url: Option<String>,
    /// Its keys from this local JWKS file.
    pub jwks_file: Option<PathBuf>,
    /// Its algorithm allowlist (`RS256,ES256`).
    pub algorithms: Option<List>,
    /// The strict RFC 9068 access-token profile for it.
    #[serde(deserialize_with = "flag")]
    pub rfc9068: bool,
    /// Its RFC 7662 introspection endpoint (opaque tokens).
    pub introspection_url: Option<String>,
    /// The service's client id at that endpoint (without a URL: the endpoint from discovery).
    pub introspection_client_id: Option<String>,
    /// Its secret, from the environment only (`TOKENGATE_INTROSPECTION_CLIENT_SECRET`).
    pub introspection_client_secret: Option<Secret>,
    /// A file holding that secret.
    pub introspection_client_secret_file: Option<PathBuf>,

    /// Several issuers.
    pub issuers: Vec<IssuerConfig>,

    /// Clock-skew tolerance in seconds (default 60, at most 300).
    pub leeway_secs: Option<u64>,
    /// Re-check open connections' tokens this often, in seconds (default: none; a token
    /// without `exp` every 60).
    pub connection_recheck_secs: Option<u64>,
    /// The `realm` of challenges (default `api`).
    pub realm: Option<String>,
    /// Longest token accepted, in bytes (default 16384).
    pub max_token_bytes: Option<usize>,
    /// Bound on one key-set refresh, in milliseconds (default 5000).
    pub fetch_timeout_ms: Option<u64>,
    /// Minimum time between unknown-`kid` refetches per issuer, in seconds (default 30).
    pub kid_refresh_cooldown_secs: Option<u64>,
    /// Answer "no usable key" with 401 instead of 503.
    #[serde(deserialize_with = "flag")]
    pub keys_unavailable_as_unauthorized: bool,
    /// The body of refusals: `plain` (default) or `problem_json`.
    pub answer_body: Option<String>,
    /// Where tokens come from (default: `Authorization` only).
    pub token_sources: Option<TokenSourcesConfig>,
    /// The verified-token cache: `true`/`1`, or a table (default off).
    pub cache: Option<CacheConfig>,
    /// The protected resource (RFC 8707 / RFC 9728): its URI, or a table.
    pub resource: Option<ResourceConfig>,
    /// DPoP settings (accepted by default).
    pub dpop: Option<DpopConfig>,
    /// Proxies whose forwarding headers are believed (addresses or CIDR networks).
    pub trusted_proxies: Option<List>,
    /// The header a trusted proxy passes the client certificate in.
    pub client_certificate_header: Option<String>,
    /// Files holding the keys encrypted tokens (JWE) are decrypted with: PEM private keys, or
    /// a JWK / JWK Set (several at once for rotation; a token's `kid` picks). Never inline.
    pub decryption_keys: Option<List>,
    /// One such file (`TOKENGATE_DECRYPTION_KEY_FILE` in the examples).
    pub decryption_key_file: Option<PathBuf>,
    /// The content encryptions accepted (default `A128GCM`, `A256GCM`, `A128CBC-HS256`,
    /// `A256CBC-HS512`).
    pub content_encryptions: Option<List>,
    /// Shared state through Redis (`redis://` or `rediss://`).
    pub redis_url: Option<Secret>,
    /// A file holding that URL (it may carry a password).
    pub redis_url_file: Option<PathBuf>,
    /// Per-call Redis timeout in milliseconds (default 250).
    pub redis_timeout_ms: Option<u64>,
    /// Prefix of tokengate's Redis keys (default `tokengate`).
    pub redis_prefix: Option<String>,
    /// Admit when the revocation list cannot answer (default: 503).
    #[serde(deserialize_with = "flag")]
    pub insecure_revocation_fail_open: bool,
    /// Static API keys beside tokens (`[api_keys]`).
    pub api_keys: Option<ApiKeysConfig>,
}

/// `[api_keys]`: keys by their hashes, never the keys themselves.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
#[non_exhaustive]
pub struct ApiKeysConfig {
    /// A header keys may come in besides `Authorization: ApiKey` (e.g. `X-API-Key`).
    pub header: Option<String>,
    /// A file of hash lines, one key each, as `tokengate apikey new` prints them:
    /// `<label> <principal> sha256:<hash> [scope ...]` (`#` starts a comment)
    /// (`TOKENGATE_API_KEYS__FILE`).
    pub file: Option<PathBuf>,
    /// Keys written in the configuration file (`[[api_keys.keys]]`).
    pub keys: Vec<ApiKeyConfig>,
}

/// One `[[api_keys.keys]]`.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
#[non_exhaustive]
pub struct ApiKeyConfig {
    /// Which key (logs, rotation).
    pub label: Option<String>,
    /// The `sub` of its requests.
    pub principal: Option<String>,
    /// `sha256:<base64url>`, from `tokengate apikey new`.
    pub hash: Option<String>,
    /// Its scopes.
    pub scopes: Option<List>,
    /// Its roles.
    pub roles: Option<List>,
}

/// One issuer in `[[issuers]]`.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
#[non_exhaustive]
pub struct IssuerConfig {
    /// The `iss` tokens carry, exactly — or, with `tenants`, a template with one `{name}`
    /// (`https://login.microsoftonline.com/{tenantid}/v2.0`).
    pub iss: Option<String>,
    /// The allowed tenants of a templated `iss`: each an issuer of its own.
    pub tenants: Option<List>,
    /// Opt-in instead of `tenants`: any tenant whose token repeats it in this claim (`tid`).
    pub any_tenant_claim: Option<String>,
    /// Other exact `iss` spellings of this issuer (a custom domain).
    pub also_issued_as: Option<List>,
    /// A provider preset: where scopes, roles and the audience are.
    pub preset: Option<String>,
    /// Keycloak client roles of these client ids (`resource_access.<id>.roles`).
    pub keycloak_client_roles: Option<List>,
    /// Accepted audiences.
    pub audiences: Option<List>,
    /// Accept any audience (only for an issuer minting tokens for this service alone).
    #[serde(deserialize_with = "flag")]
    pub insecure_skip_audience_check: bool,
    /// Check the audiences against this claim instead of `aud`.
    pub audience_claim: Option<String>,
    /// The algorithm allowlist.
    pub algorithms: Option<List>,
    /// Keys from this JWKS URL.
    pub jwks_url: Option<String>,
    /// Keys from this local JWKS file.
    pub jwks_file: Option<PathBuf>,
    /// One public key from this PEM file.
    pub pem_file: Option<PathBuf>,
    /// An HMAC secret from this file (raw bytes).
    pub secret_file: Option<PathBuf>,
    /// Role claim paths (each a member name or a list of names), replacing `roles`.
    pub roles_claims: Option<Vec<ClaimPath>>,
    /// Extra scope claims next to `scope` and `scp`.
    pub scopes_claims: Option<List>,
    /// Top-level claims every token must carry.
    pub require_claims: Option<List>,
    /// The strict RFC 9068 profile.
    #[serde(deserialize_with = "flag")]
    pub rfc9068: bool,
    /// Every token must be DPoP-bound.
    #[serde(deserialize_with = "flag")]
    pub require_dpop: bool,
    /// Scope hierarchy: a scope and the scopes it implies.
    pub scope_implies: BTreeMap<String, List>,
    /// Role hierarchy: a role and the roles it implies.
    pub role_implies: BTreeMap<String, List>,
    /// Opaque tokens by introspection.
    pub introspection: Option<IntrospectionConfig>,
}

/// `[issuers.introspection]`.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
#[non_exhaustive]
pub struct IntrospectionConfig {
    /// The endpoint (default: the issuer's `introspection_endpoint` from discovery).
    pub url: Option<String>,
    /// `client_secret_basic` (default), `client_secret_post` or `private_key_jwt`.
    pub auth: Option<String>,
    /// The service's client id.
    pub client_id: Option<String>,
    /// Its secret, from the environment only.
    pub client_secret: Option<Secret>,
    /// A file holding the secret.
    pub client_secret_file: Option<PathBuf>,
    /// `private_key_jwt`: a PKCS#8 PEM private key file.
    pub private_key_file: Option<PathBuf>,
    /// `private_key_jwt`: its algorithm (`ES256`, `RS256`, `EdDSA`).
    pub private_key_algorithm: Option<String>,
    /// Introspect signed tokens too.
    #[serde(deserialize_with = "flag")]
    pub introspect_jwts: bool,
    /// Reuse of an active answer, in seconds (default 60).
    pub max_age_secs: Option<u64>,
    /// Reuse of a refusal, in seconds (default 30).
    pub inactive_max_age_secs: Option<u64>,
    /// Calls at once (default 16).
    pub max_in_flight: Option<usize>,
}

/// `[token_sources]`.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
#[non_exhaustive]
pub struct TokenSourcesConfig {
    /// Read `Authorization` (default true).
    #[serde(deserialize_with = "optional_flag")]
    pub authorization_header: Option<bool>,
    /// A cookie's name.
    pub cookie: Option<String>,
    /// A query parameter's name (read on WebSocket upgrades only).
    pub query: Option<String>,
    /// The `Sec-WebSocket-Protocol` marker the token follows on a WebSocket upgrade.
    pub websocket_protocol: Option<String>,
    /// A custom header's name.
    pub header: Option<String>,
}

/// `cache = true`, or `[cache]`.
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub struct CacheConfig {
    /// Off when false (the `cache = false` form).
    pub enabled: bool,
    /// At most this many entries (default 10000).
    pub max_entries: Option<u64>,
    /// At most about this many bytes (default 32 MiB).
    pub max_bytes: Option<u64>,
    /// An entry lives at most this long, in seconds (default 300).
    pub max_age_secs: Option<u64>,
}

/// `resource = "https://…"`, or `[resource]`.
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub struct ResourceConfig {
    /// The resource identifier.
    pub uri: Option<String>,
    /// `resource_name`.
    pub name: Option<String>,
    /// `resource_documentation`.
    pub documentation: Option<String>,
    /// `scopes_supported`.
    pub scopes_supported: Option<List>,
}

/// `[dpop]`.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
#[non_exhaustive]
pub struct DpopConfig {
    /// Accept the DPoP scheme (default true).
    #[serde(deserialize_with = "optional_flag")]
    pub enabled: Option<bool>,
    /// The proofs' algorithm allowlist.
    pub algorithms: Option<List>,
    /// How far a proof's `iat` may be from the clock, in seconds (default 60).
    pub window_secs: Option<u64>,
    /// Refuse bearer tokens everywhere.
    #[serde(deserialize_with = "flag")]
    pub required: bool,
    /// Admit when the replay store cannot answer (default: 503).
    #[serde(deserialize_with = "flag")]
    pub insecure_replay_fail_open: bool,
    /// Server nonces: a file holding the secret every instance shares (at least 32 bytes).
    pub nonce_secret_file: Option<PathBuf>,
    /// A new nonce every this many seconds (default 60).
    pub nonce_period_secs: Option<u64>,
}

/// A list written as an array or as one comma-separated string (`"RS256,ES256"`), as
/// environment variables give it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct List(pub Vec<String>);

impl List {
    /// The items.
    pub fn iter(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(String::as_str)
    }
}

impl<'de> Deserialize<'de> for List {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<List, D::Error> {
        struct ListVisitor;
        impl<'de> Visitor<'de> for ListVisitor {
            type Value = List;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a list of strings, or one comma-separated string")
            }
            fn visit_str<E: de::Error>(self, value: &str) -> Result<List, E> {
                Ok(List(
                    value
                        .split(',')
                        .map(str::trim)
                        .filter(|item| !item.is_empty())
                        .map(str::to_owned)
                        .collect(),
                ))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<List, A::Error> {
                let mut items = Vec::new();
                while let Some(item) = seq.next_element::<String>()? {
                    items.push(item);
                }
                Ok(List(items))
            }
        }
        deserializer.deserialize_any(ListVisitor)
    }
}

/// A claim path: one member name (`"roles"`) or a list of names (`["realm_access", "roles"]`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClaimPath(pub Vec<String>);

impl<'de> Deserialize<'de> for ClaimPath {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<ClaimPath, D::Error> {
        struct PathVisitor;
        impl<'de> Visitor<'de> for PathVisitor {
            type Value = ClaimPath;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a claim name, or a list of member names")
            }
            fn visit_str<E: de::Error>(self, value: &str) -> Result<ClaimPath, E> {
                Ok(ClaimPath(vec![value.to_owned()]))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<ClaimPath, A::Error> {
                let mut names = Vec::new();
                while let Some(name) = seq.next_element::<String>()? {
                    names.push(name);
                }
                Ok(ClaimPath(names))
            }
        }
        deserializer.deserialize_any(PathVisitor)
    }
}

/// A secret value: never printed (`Debug` shows its length only). Read as text whatever it
/// looks like (a number, `true`), and a value of another type is refused without printing it.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(pub String);

impl<'de> Deserialize<'de> for Secret {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Secret, D::Error> {
        deserializer.deserialize_any(SecretVisitor)
    }
}

struct SecretVisitor;

impl SecretVisitor {
    /// Refuses a value without naming it (serde's own message would print it).
    fn refuse<E: de::Error>() -> E {
        E::custom("a secret must be text (its value is not shown)")
    }
}

impl Visitor<'_> for SecretVisitor {
    type Value = Secret;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a secret (text)")
    }
    fn visit_str<E: de::Error>(self, value: &str) -> Result<Secret, E> {
        Ok(Secret(value.to_owned()))
    }
    fn visit_string<E: de::Error>(self, value: String) -> Result<Secret, E> {
        Ok(Secret(value))
    }
    fn visit_u64<E: de::Error>(self, value: u64) -> Result<Secret, E> {
        Ok(Secret(value.to_string()))
    }
    fn visit_i64<E: de::Error>(self, value: i64) -> Result<Secret, E> {
        Ok(Secret(value.to_string()))
    }
    fn visit_u128<E: de::Error>(self, value: u128) -> Result<Secret, E> {
        Ok(Secret(value.to_string()))
    }
    fn visit_i128<E: de::Error>(self, value: i128) -> Result<Secret, E> {
        Ok(Secret(value.to_string()))
    }
    fn visit_bool<E: de::Error>(self, value: bool) -> Result<Secret, E> {
        Ok(Secret(value.to_string()))
    }
    fn visit_f64<E: de::Error>(self, _value: f64) -> Result<Secret, E> {
        Err(Self::refuse())
    }
    fn visit_bytes<E: de::Error>(self, _value: &[u8]) -> Result<Secret, E> {
        Err(Self::refuse())
    }
    fn visit_char<E: de::Error>(self, value: char) -> Result<Secret, E> {
        Ok(Secret(value.to_string()))
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Secret({} bytes)", self.0.len())
    }
}

/// A boolean written `true`/`false`, `1`/`0`, `"yes"`/`"no"` or `"on"`/`"off"` (environment
/// variables give numbers and strings).
fn flag<'de, D: Deserializer<'de>>(deserializer: D) -> Result<bool, D::Error> {
    deserializer.deserialize_any(FlagVisitor)
}

fn optional_flag<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<bool>, D::Error> {
    deserializer.deserialize_any(FlagVisitor).map(Some)
}

struct FlagVisitor;

impl Visitor<'_> for FlagVisitor {
    type Value = bool;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("true or false (or 1 / 0)")
    }
    fn visit_bool<E: de::Error>(self, value: bool) -> Result<bool, E> {
        Ok(value)
    }
    fn visit_u64<E: de::Error>(self, value: u64) -> Result<bool, E> {
        match value {
            0 => Ok(false),
            1 => Ok(true),
            _ => Err(E::invalid_value(de::Unexpected::Unsigned(value), &self)),
        }
    }
    fn visit_i64<E: de::Error>(self, value: i64) -> Result<bool, E> {
        match value {
            0 => Ok(false),
            1 => Ok(true),
            _ => Err(E::invalid_value(de::Unexpected::Signed(value), &self)),
        }
    }
    fn visit_str<E: de::Error>(self, value: &str) -> Result<bool, E> {
        match value.to_ascii_lowercase().as_str() {
            "true" | "1" | "yes" | "on" => Ok(true),
            "false" | "0" | "no" | "off" => Ok(false),
            _ => Err(E::invalid_value(de::Unexpected::Str(value), &self)),
        }
    }
}

/// `cache = true` / `1`, or a `[cache]` table.
impl<'de> Deserialize<'de> for CacheConfig {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<CacheConfig, D::Error> {
        struct CacheVisitor;
        impl<'de> Visitor<'de> for CacheVisitor {
            type Value = CacheConfig;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("true, false, or a table (max_entries, max_bytes, max_age_secs)")
            }
            fn visit_bool<E: de::Error>(self, value: bool) -> Result<CacheConfig, E> {
                Ok(CacheConfig {
                    enabled: value,
                    ..CacheConfig::default()
                })
            }
            fn visit_u64<E: de::Error>(self, value: u64) -> Result<CacheConfig, E> {
                FlagVisitor
                    .visit_u64(value)
                    .map(|on| self.visit_bool::<E>(on))?
            }
            fn visit_i64<E: de::Error>(self, value: i64) -> Result<CacheConfig, E> {
                FlagVisitor
                    .visit_i64(value)
                    .map(|on| self.visit_bool::<E>(on))?
            }
            fn visit_str<E: de::Error>(self, value: &str) -> Result<CacheConfig, E> {
                FlagVisitor
                    .visit_str(value)
                    .map(|on| self.visit_bool::<E>(on))?
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<CacheConfig, A::Error> {
                let table = CacheTable::deserialize(de::value::MapAccessDeserializer::new(map))?;
                Ok(CacheConfig {
                    enabled: true,
                    max_entries: table.max_entries,
                    max_bytes: table.max_bytes,
                    max_age_secs: table.max_age_secs,
                })
            }
        }
        deserializer.deserialize_any(CacheVisitor)
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CacheTable {
    max_entries: Option<u64>,
    max_bytes: Option<u64>,
    max_age_secs: Option<u64>,
}

/// `resource = "https://…"`, or a `[resource]` table.
impl<'de> Deserialize<'de> for ResourceConfig {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<ResourceConfig, D::Error> {
        struct ResourceVisitor;
        impl<'de> Visitor<'de> for ResourceVisitor {
            type Value = ResourceConfig;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(
                    "the resource URI, or a table (uri, name, documentation, scopes_supported)",
                )
            }
            fn visit_str<E: de::Error>(self, value: &str) -> Result<ResourceConfig, E> {
                Ok(ResourceConfig {
                    uri: Some(value.to_owned()),
                    ..ResourceConfig::default()
                })
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<ResourceConfig, A::Error> {
                let table = ResourceTable::deserialize(de::value::MapAccessDeserializer::new(map))?;
                Ok(ResourceConfig {
                    uri: table.uri,
                    name: table.name,
                    documentation: table.documentation,
                    scopes_supported: table.scopes_supported,
                })
            }
        }
        deserializer.deserialize_any(ResourceVisitor)
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ResourceTable {
    uri: Option<String>,
    name: Option<String>,
    documentation: Option<String>,
    scopes_supported: Option<List>,
}
