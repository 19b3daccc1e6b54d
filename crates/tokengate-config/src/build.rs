// Over 600 lines: one function per configuration section turning the checked file into a verifier; the sections are independent and in file order.
//! From the model to a `VerifierBuilder`, every value checked and every problem collected with
//! its path.

use std::path::{Path, PathBuf};
use std::time::Duration;

use tokengate::keys::{ContentEncryption, DecryptionKey};
use tokengate::{
    Algorithm, Issuer, KeySource, ProtectedResource, Provider, TokenSources, Verifier,
    VerifierBuilder, answer::ProblemJson, cache::TokenCache, dpop::Dpop, dpop::DpopNonces,
    introspection::ClientKey, introspection::Introspection, verifier::TrustedProxies,
};

use crate::model::{Config, IntrospectionConfig, IssuerConfig, List, Secret};
use crate::{Problem, Problems};

/// The builder's largest leeway.
const MAX_LEEWAY_SECS: u64 = 300;

#[cfg(feature = "redis")]
type Shared = tokengate_redis::RedisStore;
#[cfg(not(feature = "redis"))]
type Shared = std::convert::Infallible;

/// How the fields of one issuer are named in problems: `issuers[1].audiences`, or for the
/// flat form the top-level names (`audience`).
enum Naming {
    Flat,
    Listed(usize),
}

impl Naming {
    fn at(&self, field: &str) -> String {
        match self {
            Naming::Listed(index) => format!("issuers[{index}].{field}"),
            Naming::Flat => match field {
                "iss" => "issuer".to_owned(),
                "audiences" => "audience".to_owned(),
                "introspection.url" => "introspection_url".to_owned(),
                "introspection.client_id" => "introspection_client_id".to_owned(),
                "introspection.client_secret" => "introspection_client_secret".to_owned(),
                "introspection.client_secret_file" => "introspection_client_secret_file".to_owned(),
                other => other.to_owned(),
            },
        }
    }
}

impl Config {
    /// Checks everything `builder` would, collecting problems.
    pub(crate) fn validate(&self, problems: &mut Vec<Problem>) {
        let _ = self.assemble(problems, false);
    }

    /// A `VerifierBuilder` with everything this configuration says. Add what only code can
    /// (custom checks, a clock, a fetcher) and `build()`.
    ///
    /// # Errors
    /// Every problem found, each with its path (files are read here: a secret file that
    /// disappeared since loading is reported).
    pub fn builder(&self) -> Result<VerifierBuilder, Problems> {
        let mut problems = Vec::new();
        for (at, path) in self.exposed_secret_files() {
            // A warning, not a refusal: the file may sit in a directory only the service can
            // enter; `tokengate check-config` reports it too.
            tracing::warn!(
                target: "tokengate::config",
                setting = %at,
                path = %path.display(),
                "a secret file is readable by group or others (chmod 600 it)"
            );
        }
        match self.assemble(&mut problems, true) {
            Some(builder) if problems.is_empty() => Ok(builder),
            _ => Err(Problems::from_vec(problems)),
        }
    }

    /// The verifier this configuration describes. With a `redis_url`, call it inside a Tokio
    /// runtime (the store's connection lives there).
    ///
    /// # Errors
    /// Every problem found; a rule only the builder checks comes last, alone.
    pub fn verifier(&self) -> Result<Verifier, Problems> {
        self.builder()?
            .build()
            .map_err(|error| Problems::from_vec(vec![Problem::new("", error.to_string())]))
    }

    /// The secret files this configuration names (client secrets, HMAC keys, private keys,
    /// the nonce secret, the Redis URL file) that group or others may read, with the setting
    /// that names each. Always empty where file modes do not exist (not Unix).
    #[must_use]
    pub fn exposed_secret_files(&self) -> Vec<(String, PathBuf)> {
        let mut named: Vec<(String, PathBuf)> = Vec::new();
        let mut add = |at: String, path: &Option<PathBuf>| {
            if let Some(path) = path {
                named.push((at, path.clone()));
            }
        };
        add(
            "introspection_client_secret_file".to_owned(),
            &self.introspection_client_secret_file,
        );
        add("redis_url_file".to_owned(), &self.redis_url_file);
        if let Some(dpop) = &self.dpop {
            add("dpop.nonce_secret_file".to_owned(), &dpop.nonce_secret_file);
        }
        for (index, issuer) in self.issuers.iter().enumerate() {
            add(format!("issuers[{index}].secret_file"), &issuer.secret_file);
            if let Some(introspection) = &issuer.introspection {
                add(
                    format!("issuers[{index}].introspection.client_secret_file"),
                    &introspection.client_secret_file,
                );
                add(
                    format!("issuers[{index}].introspection.private_key_file"),
                    &introspection.private_key_file,
                );
            }
        }
        named.retain(|(_, path)| readable_by_others(path));
        named
    }

    /// The issuers this configuration names (flat or listed), with how their fields are named.
    fn issuer_configs(&self, problems: &mut Vec<Problem>) -> Vec<(Naming, IssuerConfig)> {
        let flat_fields: [(&str, bool); 10] = [
            ("audience", self.audience.is_some()),
            ("preset", self.preset.is_some()),
            ("jwks_url", self.jwks_url.is_some()),
            ("jwks_file", self.jwks_file.is_some()),
            ("algorithms", self.algorithms.is_some()),
            ("rfc9068", self.rfc9068),
            ("introspection_url", self.introspection_url.is_some()),
            (
                "introspection_client_id",
                self.introspection_client_id.is_some(),
            ),
            (
                "introspection_client_secret",
                self.introspection_client_secret.is_some(),
            ),
            (
                "introspection_client_secret_file",
                self.introspection_client_secret_file.is_some(),
            ),
        ];
        let mut issuers = Vec::new();
        match (&self.issuer, self.issuers.is_empty()) {
            (Some(_), false) => problems.push(Problem::new(
                "issuer",
                "set together with [[issuers]]: write every issuer as an [[issuers]] table",
            )),
            (None, true) => problems.push(Problem::new(
                "issuer",
                "TOKENGATE_ISSUER is not set (nor issuer or [[issuers]] in a configuration file): \
                 the issuer whose tokens this API accepts",
            )),
            _ => {}
        }
        if self.issuer.is_none() {
            for (field, set) in flat_fields {
                if set {
                    problems.push(Problem::new(
                        field,
                        "belongs to the one issuer written flat, and `issuer` is not set",
                    ));
                }
            }
        }
        if let Some(iss) = &self.issuer {
            let wants_introspection = self.introspection_url.is_some()
                || self.introspection_client_id.is_some()
                || self.introspection_client_secret.is_some()
                || self.introspection_client_secret_file.is_some();
            let flat = IssuerConfig {
                iss: Some(iss.clone()),
                tenants: self.tenants.clone(),
                any_tenant_claim: self.any_tenant_claim.clone(),
                preset: self.preset.clone(),
                audiences: self.audience.clone(),
                algorithms: self.algorithms.clone(),
                jwks_url: self.jwks_url.clone(),
                jwks_file: self.jwks_file.clone(),
                rfc9068: self.rfc9068,
                introspection: wants_introspection.then(|| IntrospectionConfig {
                    url: self.introspection_url.clone(),
                    client_id: self.introspection_client_id.clone(),
                    client_secret: self.introspection_client_secret.clone(),
                    client_secret_file: self.introspection_client_secret_file.clone(),
                    ..IntrospectionConfig::default()
                }),
                ..IssuerConfig::default()
            };
            issuers.push((Naming::Flat, flat));
        }
        for (index, issuer) in self.issuers.iter().enumerate() {
            issuers.push((Naming::Listed(index), issuer.clone()));
        }
        issuers
    }

    /// The protected resource's identifier: `resource`, or, for one issuer written flat with
    /// one `https` audience, that audience (RFC 8707: an API is usually named by its URL).
    #[must_use]
    pub fn resource_uri(&self) -> Option<String> {
        if let Some(resource) = &self.resource {
            return resource.uri.clone();
        }
        match self.audience.as_ref()?.0.as_slice() {
            [only] if self.issuer.is_some() && only.starts_with("https://") => Some(only.clone()),
            _ => None,
        }
    }

    /// The resource: configured, or the flat form's `https` audience.
    fn resource(&self, problems: &mut Vec<Problem>) -> Option<ProtectedResource> {
        let Some(resource) = &self.resource else {
            return self.resource_uri().map(ProtectedResource::new);
        };
        let Some(uri) = &resource.uri else {
            problems.push(Problem::new("resource.uri", "not set"));
            return None;
        };
        let mut built = ProtectedResource::new(uri.clone());
        if let Some(name) = &resource.name {
            built = built.name(name.clone());
        }
        if let Some(url) = &resource.documentation {
            built = built.documentation(url.clone());
        }
        if let Some(scopes) = &resource.scopes_supported {
            built = built.scopes_supported(scopes.0.clone());
        }
        Some(built)
    }

    /// `open`: open the shared store (needs a Tokio runtime); without it, only check its URL.
    fn assemble(&self, problems: &mut Vec<Problem>, open: bool) -> Option<VerifierBuilder> {
        let shared = self.shared_store(problems, open);
        let resource = self.resource(problems);
        let mut builder = Verifier::builder();
        for (naming, issuer) in self.issuer_configs(problems) {
            if let Some(issuer) = build_issuer(
                &issuer,
                &naming,
                resource.is_some(),
                shared.as_ref(),
                problems,
            ) {
                builder = builder.issuer(issuer);
            }
        }
        if let Some(resource) = resource {
            builder = builder.resource(resource);
        }
        if let Some(secs) = self.leeway_secs {
            if secs > MAX_LEEWAY_SECS {
                problems.push(Problem::new(
                    "leeway_secs",
                    format!("{secs} is more than {MAX_LEEWAY_SECS} seconds"),
                ));
            }
            builder = builder.leeway(Duration::from_secs(secs));
        }
        if let Some(secs) = self.connection_recheck_secs {
            if secs == 0 {
                problems.push(Problem::new(
                    "connection_recheck_secs",
                    "must be at least one second".to_owned(),
                ));
            } else {
                builder = builder.connection_recheck(Duration::from_secs(secs));
            }
        }
        if let Some(realm) = &self.realm {
            builder = builder.realm(realm.clone());
        }
        if let Some(max) = self.max_token_bytes {
            builder = builder.max_token_bytes(max);
        }
        if let Some(ms) = self.fetch_timeout_ms {
            builder = builder.fetch_timeout(Duration::from_millis(ms));
        }
        if let Some(secs) = self.kid_refresh_cooldown_secs {
            builder = builder.kid_refresh_cooldown(Duration::from_secs(secs));
        }
        if self.keys_unavailable_as_unauthorized {
            builder = builder.keys_unavailable_as_unauthorized();
        }
        match self.answer_body.as_deref() {
            None | Some("plain") => {}
            Some("problem_json") => builder = builder.answer_body(ProblemJson),
            Some(other) => problems.push(Problem::new(
                "answer_body",
                format!("unknown body {other:?} (plain, problem_json)"),
            )),
        }
        if let Some(sources) = &self.token_sources {
            let mut built = TokenSources::new();
            if let Some(name) = &sources.cookie {
                match built.clone().cookie(name.clone()) {
                    Ok(with) => built = with,
                    Err(error) => {
                        problems.push(Problem::new("token_sources.cookie", error.to_string()))
                    }
                }
            }
            if let Some(name) = &sources.query {
                match built.clone().query(name.clone()) {
                    Ok(with) => built = with,
                    Err(error) => {
                        problems.push(Problem::new("token_sources.query", error.to_string()))
                    }
                }
            }
            if let Some(marker) = &sources.websocket_protocol {
                match built.clone().websocket_protocol(marker.clone()) {
                    Ok(with) => built = with,
                    Err(error) => problems.push(Problem::new(
                        "token_sources.websocket_protocol",
                        error.to_string(),
                    )),
                }
            }
            if let Some(name) = &sources.header {
                match http::HeaderName::try_from(name.as_str()) {
                    Ok(name) => built = built.header(name),
                    Err(_) => problems.push(Problem::new(
                        "token_sources.header",
                        format!("{name:?} is not a header name"),
                    )),
                }
            }
            if sources.authorization_header == Some(false) {
                built = built.without_authorization_header();
            }
            builder = builder.token_sources(built);
        }
        if let Some(cache) = self.cache.as_ref().filter(|c| c.enabled) {
            let mut built = TokenCache::new();
            if let Some(n) = cache.max_entries {
                built = built.max_entries(n);
            }
            if let Some(n) = cache.max_bytes {
                built = built.max_bytes(n);
            }
            if let Some(secs) = cache.max_age_secs {
                built = built.max_age(Duration::from_secs(secs));
            }
            builder = builder.cache(built);
        }
        builder = self.dpop(builder, shared.as_ref(), problems);
        if let Some(list) = &self.trusted_proxies {
            for (index, entry) in list.iter().enumerate() {
                if let Err(error) = TrustedProxies::new([entry]) {
                    problems.push(Problem::new(
                        format!("trusted_proxies[{index}]"),
                        error.to_string(),
                    ));
                }
            }
            if let Ok(proxies) = TrustedProxies::new(list.iter()) {
                builder = builder.trusted_proxies(proxies);
            }
        }
        if let Some(name) = &self.client_certificate_header {
            match http::HeaderName::try_from(name.as_str()) {
                Ok(name) => builder = builder.client_certificate_header(name),
                Err(_) => problems.push(Problem::new(
                    "client_certificate_header",
                    format!("{name:?} is not a header name"),
                )),
            }
        }
        let key_files = self
            .decryption_keys
            .iter()
            .flat_map(List::iter)
            .map(|path| ("decryption_keys", PathBuf::from(path)))
            .chain(
                self.decryption_key_file
                    .iter()
                    .map(|path| ("decryption_key_file", path.clone())),
            );
        for (at, path) in key_files {
            for key in decryption_keys(&path, at, problems) {
                builder = builder.decryption_key(key);
            }
        }
        if let Some(list) = &self.content_encryptions {
            let mut encryptions = Vec::new();
            for name in list.iter() {
                match ContentEncryption::from_name(name) {
                    Some(enc) => encryptions.push(enc),
                    None => problems.push(Problem::new(
                        "content_encryptions",
                        format!("{name:?} is not A128GCM, A256GCM, A128CBC-HS256 or A256CBC-HS512"),
                    )),
                }
            }
            builder = builder.content_encryptions(encryptions);
        }
        if let Some(keys) = self
            .api_keys
            .as_ref()
            .and_then(|config| api_keys(config, problems))
        {
            builder = builder.api_keys(keys);
        }
        // The revocation list and the DPoP replay store in one: both asked in one pipeline.
        #[cfg(feature = "redis")]
        if let Some(store) = &shared {
            builder = builder.shared_store(store.clone());
        }
        if self.insecure_revocation_fail_open {
            builder = builder.insecure_revocation_fail_open();
        }
        Some(builder)
    }

    fn dpop(
        &self,
        mut builder: VerifierBuilder,
        shared: Option<&Shared>,
        problems: &mut Vec<Problem>,
    ) -> VerifierBuilder {
        let default = crate::model::DpopConfig::default();
        let config = self.dpop.as_ref().unwrap_or(&default);
        if config.enabled == Some(false) {
            return builder.without_dpop();
        }
        let mut dpop = Dpop::new();
        if let Some(list) = &config.algorithms
            && let Some(algorithms) = algorithms(list, "dpop.algorithms", problems)
        {
            match dpop.clone().algorithms(algorithms) {
                Ok(with) => dpop = with,
                Err(error) => problems.push(Problem::new("dpop.algorithms", error.to_string())),
            }
        }
        if let Some(secs) = config.window_secs {
            let most = tokengate::dpop::MAX_DPOP_WINDOW.as_secs();
            if secs == 0 || secs > most {
                problems.push(Problem::new(
                    "dpop.window_secs",
                    format!("{secs} is not from 1 to {most} seconds"),
                ));
            }
            dpop = dpop.window(Duration::from_secs(secs));
        }
        if config.required {
            dpop = dpop.required();
        }
        if config.insecure_replay_fail_open {
            dpop = dpop.insecure_replay_fail_open();
        }
        if let Some(path) = &config.nonce_secret_file {
            let period = Duration::from_secs(config.nonce_period_secs.unwrap_or(60));
            if let Some(secret) = read_secret(path, "dpop.nonce_secret_file", problems) {
                match DpopNonces::new(secret, period) {
                    Ok(nonces) => dpop = dpop.nonces(nonces),
                    Err(error) => {
                        problems.push(Problem::new("dpop.nonce_secret_file", error.to_string()))
                    }
                }
            }
        } else if config.nonce_period_secs.is_some() {
            problems.push(Problem::new(
                "dpop.nonce_period_secs",
                "set without dpop.nonce_secret_file",
            ));
        }
        // With Redis the replay store is the shared store (`VerifierBuilder::shared_store`).
        let _ = shared;
        builder = builder.dpop(dpop);
        builder
    }

    fn shared_store(&self, problems: &mut Vec<Problem>, open: bool) -> Option<Shared> {
        let (url, at) = match (&self.redis_url, &self.redis_url_file) {
            (Some(_), Some(_)) => {
                problems.push(Problem::new(
                    "redis_url",
                    "set together with redis_url_file: choose one",
                ));
                return None;
            }
            (Some(Secret(url)), None) => (url.clone(), "redis_url"),
            (None, Some(path)) => {
                let secret = read_secret(path, "redis_url_file", problems)?;
                match String::from_utf8(secret) {
                    Ok(url) => (url, "redis_url_file"),
                    Err(_) => {
                        problems.push(Problem::new("redis_url_file", "not UTF-8"));
                        return None;
                    }
                }
            }
            (None, None) => {
                for (field, set) in [
                    ("redis_timeout_ms", self.redis_timeout_ms.is_some()),
                    ("redis_prefix", self.redis_prefix.is_some()),
                ] {
                    if set {
                        problems.push(Problem::new(field, "set without redis_url"));
                    }
                }
                return None;
            }
        };
        open_store(&url, at, self, open, problems)
    }
}

#[cfg(feature = "redis")]
fn open_store(
    url: &str,
    at: &str,
    config: &Config,
    open: bool,
    problems: &mut Vec<Problem>,
) -> Option<Shared> {
    if !open {
        if let Err(error) = tokengate_redis::RedisStore::check_url(url) {
            problems.push(Problem::new(at, error.to_string()));
        }
        return None;
    }
    let timeout = Duration::from_millis(config.redis_timeout_ms.unwrap_or(250));
    match tokengate_redis::RedisStore::open_with_timeout(url, timeout) {
        Ok(store) => Some(match &config.redis_prefix {
            Some(prefix) => store.with_prefix(prefix),
            None => store,
        }),
        Err(error) => {
            problems.push(Problem::new(at, error.to_string()));
            None
        }
    }
}

#[cfg(not(feature = "redis"))]
fn open_store(
    _: &str,
    at: &str,
    _: &Config,
    _: bool,
    problems: &mut Vec<Problem>,
) -> Option<Shared> {
    problems.push(Problem::new(
        at,
        "this build has no Redis support (tokengate-config's feature `redis`)",
    ));
    None
}

fn build_issuer(
    config: &IssuerConfig,
    naming: &Naming,
    has_resource: bool,
    shared: Option<&Shared>,
    problems: &mut Vec<Problem>,
) -> Option<Issuer> {
    let Some(iss) = &config.iss else {
        problems.push(Problem::new(naming.at("iss"), "not set"));
        return None;
    };
    let mut issuer = match (&config.tenants, &config.any_tenant_claim) {
        (Some(_), Some(_)) => {
            problems.push(Problem::new(
                naming.at("any_tenant_claim"),
                "tenants (an allow-list) or any_tenant_claim (any tenant), not both",
            ));
            Issuer::new(iss.clone())
        }
        (Some(tenants), None) => Issuer::template(iss.clone()).tenants(tenants.iter()),
        (None, Some(claim)) => Issuer::template(iss.clone()).any_tenant_matching_claim(claim),
        (None, None) => Issuer::new(iss.clone()),
    };
    if let Some(aliases) = &config.also_issued_as {
        issuer = issuer.also_issued_as(aliases.iter());
    }
    if let Some(name) = &config.preset {
        match name.parse::<Provider>() {
            Ok(provider) => issuer = issuer.preset(provider),
            Err(error) => problems.push(Problem::new(
                naming.at("preset"),
                format!("{name:?}: {error}"),
            )),
        }
    }
    if let Some(clients) = &config.keycloak_client_roles {
        for client in clients.iter() {
            issuer = issuer.keycloak_client_roles(client);
        }
    }
    let audiences = config.audiences.clone().unwrap_or_default();
    if audiences.0.is_empty() && !config.insecure_skip_audience_check && !has_resource {
        let message = match naming {
            Naming::Flat => {
                "TOKENGATE_AUDIENCE is not set: this API's identifier, which tokens must name in aud"
            }
            Naming::Listed(_) => "not set: this API's identifiers, which tokens must name in aud",
        };
        problems.push(Problem::new(naming.at("audiences"), message));
    }
    issuer = issuer.audiences(audiences.0);
    if config.insecure_skip_audience_check {
        issuer = issuer.insecure_skip_audience_check();
    }
    if let Some(claim) = &config.audience_claim {
        issuer = issuer.audience_claim(claim.clone());
    }
    if let Some(list) = &config.algorithms
        && let Some(algorithms) = algorithms(list, &naming.at("algorithms"), problems)
    {
        issuer = issuer.algorithms(algorithms);
    }
    if let Some(keys) = key_source(config, naming, problems) {
        issuer = issuer.keys(keys);
    }
    if let Some(paths) = &config.roles_claims {
        for (index, path) in paths.iter().enumerate() {
            if path.0.is_empty() || path.0.iter().any(String::is_empty) {
                problems.push(Problem::new(
                    format!("{}[{index}]", naming.at("roles_claims")),
                    "an empty claim name",
                ));
            } else if index == 0 {
                issuer = issuer.roles_claim(path.0.clone());
            } else {
                issuer = issuer.add_roles_claim(path.0.clone());
            }
        }
    }
    for name in config.scopes_claims.iter().flat_map(List::iter) {
        issuer = issuer.scopes_claim(name);
    }
    if let Some(names) = &config.require_claims {
        issuer = issuer.require_claims(names.0.clone());
    }
    if config.rfc9068 {
        issuer = issuer.rfc9068();
    }
    if config.require_dpop {
        issuer = issuer.require_dpop();
    }
    for (scope, implied) in &config.scope_implies {
        issuer = issuer.scope_implies(scope.clone(), implied.0.clone());
    }
    for (role, implied) in &config.role_implies {
        issuer = issuer.role_implies(role.clone(), implied.0.clone());
    }
    if let Some(introspection) = &config.introspection
        && let Some(built) = build_introspection(introspection, naming, shared, problems)
    {
        issuer = issuer.introspection(built);
    }
    Some(issuer)
}

fn key_source(
    config: &IssuerConfig,
    naming: &Naming,
    problems: &mut Vec<Problem>,
) -> Option<KeySource> {
    let set: Vec<&str> = [
        ("jwks_url", config.jwks_url.is_some()),
        ("jwks_file", config.jwks_file.is_some()),
        ("pem_file", config.pem_file.is_some()),
        ("secret_file", config.secret_file.is_some()),
    ]
    .into_iter()
    .filter_map(|(name, set)| set.then_some(name))
    .collect();
    if set.len() > 1 {
        problems.push(Problem::new(
            naming.at(set[1]),
            format!("one key source per issuer: {} is set too", set[0]),
        ));
        return None;
    }
    if let Some(url) = &config.jwks_url {
        return Some(KeySource::jwks_url(url.clone()));
    }
    if let Some(path) = &config.jwks_file {
        let bytes = read_file(path, &naming.at("jwks_file"), problems)?;
        return match String::from_utf8(bytes) {
            Ok(json) => Some(KeySource::jwks_json(json)),
            Err(_) => {
                problems.push(Problem::new(naming.at("jwks_file"), "not UTF-8"));
                None
            }
        };
    }
    if let Some(path) = &config.pem_file {
        return read_file(path, &naming.at("pem_file"), problems).map(KeySource::pem);
    }
    if let Some(path) = &config.secret_file {
        return read_secret(path, &naming.at("secret_file"), problems).map(KeySource::secret);
    }
    Some(KeySource::discover())
}

fn build_introspection(
    config: &IntrospectionConfig,
    naming: &Naming,
    shared: Option<&Shared>,
    problems: &mut Vec<Problem>,
) -> Option<Introspection> {
    let mut built = match &config.url {
        Some(url) => Introspection::endpoint(url.clone()),
        None => Introspection::discover(),
    };
    let at = |field: &str| naming.at(&format!("introspection.{field}"));
    let secret = match (&config.client_secret, &config.client_secret_file) {
        (Some(_), Some(_)) => {
            problems.push(Problem::new(
                at("client_secret_file"),
                "set together with the inline secret: choose one",
            ));
            None
        }
        (Some(Secret(secret)), None) => Some(secret.clone()),
        (None, Some(path)) => read_secret(path, &at("client_secret_file"), problems)
            .and_then(|bytes| String::from_utf8(bytes).ok()),
        (None, None) => None,
    };
    let auth = config.auth.as_deref().unwrap_or("client_secret_basic");
    match (auth, &config.client_id) {
        ("client_secret_basic" | "client_secret_post", Some(id)) => match secret {
            Some(secret) if auth == "client_secret_basic" => {
                built = built.client_secret_basic(id.clone(), secret);
            }
            Some(secret) => built = built.client_secret_post(id.clone(), secret),
            None if config.client_secret.is_none() && config.client_secret_file.is_none() => {
                problems.push(Problem::new(
                    at("client_secret_file"),
                    "not set: the client id needs its secret (a file, or the environment)",
                ));
            }
            None => {}
        },
        ("private_key_jwt", Some(id)) => {
            let algorithm = config
                .private_key_algorithm
                .as_deref()
                .map(str::parse::<Algorithm>);
            match (&config.private_key_file, algorithm) {
                (Some(path), Some(Ok(algorithm))) => {
                    if let Some(pem) = read_file(path, &at("private_key_file"), problems) {
                        match ClientKey::from_pkcs8(pem, algorithm) {
                            Ok(key) => built = built.private_key_jwt(id.clone(), key),
                            Err(error) => problems.push(Problem::new(at("private_key_file"), error.to_string())),
                        }
                    }
                }
                (_, Some(Err(error))) => {
                    problems.push(Problem::new(at("private_key_algorithm"), error.to_string()));
                }
                (None, _) => problems.push(Problem::new(at("private_key_file"), "not set (private_key_jwt)")),
                (_, None) => problems.push(Problem::new(
                    at("private_key_algorithm"),
                    "not set (private_key_jwt): ES256, RS256 or EdDSA",
                )),
            }
        }
        ("client_secret_basic" | "client_secret_post" | "private_key_jwt", None) => {
            if secret.is_some() || config.private_key_file.is_some() || config.auth.is_some() {
                problems.push(Problem::new(at("client_id"), "not set"));
            }
        }
        (other, _) => problems.push(Problem::new(
            at("auth"),
            format!("unknown method {other:?} (client_secret_basic, client_secret_post, private_key_jwt)"),
        )),
    }
    if config.introspect_jwts {
        built = built.introspect_jwts();
    }
    if let Some(secs) = config.max_age_secs {
        built = built.max_age(Duration::from_secs(secs));
    }
    if let Some(secs) = config.inactive_max_age_secs {
        built = built.inactive_max_age(Duration::from_secs(secs));
    }
    if let Some(calls) = config.max_in_flight {
        built = built.max_in_flight(calls);
    }
    #[cfg(feature = "redis")]
    if let Some(store) = shared {
        built = built.shared_cache(store.clone());
    }
    #[cfg(not(feature = "redis"))]
    let _ = shared;
    Some(built)
}

/// Parses algorithm names, one problem per bad name (`algorithms[1]`).
fn algorithms(list: &List, at: &str, problems: &mut Vec<Problem>) -> Option<Vec<Algorithm>> {
    let mut parsed = Vec::new();
    let mut ok = true;
    for (index, name) in list.iter().enumerate() {
        match name.parse::<Algorithm>() {
            Ok(algorithm) => parsed.push(algorithm),
            Err(error) => {
                ok = false;
                problems.push(Problem::new(format!("{at}[{index}]"), error.to_string()));
            }
        }
    }
    ok.then_some(parsed)
}

/// Whether group or others may read the file (Unix modes; elsewhere, never said).
#[cfg(unix)]
fn readable_by_others(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).is_ok_and(|meta| meta.permissions().mode() & 0o044 != 0)
}

#[cfg(not(unix))]
fn readable_by_others(_path: &Path) -> bool {
    false
}

fn read_file(path: &Path, at: &str, problems: &mut Vec<Problem>) -> Option<Vec<u8>> {
    match std::fs::read(path) {
        Ok(bytes) => Some(bytes),
        Err(error) => {
            problems.push(Problem::new(at, format!("{}: {error}", path.display())));
            None
        }
    }
}

/// `[api_keys]`: the keys of the file and of `[[api_keys.keys]]`, and the header. A problem
/// names where it is (`api_keys.keys[1].hash`, `api_keys.file:3`), never a hash or a key.
fn api_keys(
    config: &crate::model::ApiKeysConfig,
    problems: &mut Vec<Problem>,
) -> Option<tokengate::apikey::ApiKeys> {
    use tokengate::apikey::{ApiKey, ApiKeys};
    let before = problems.len();
    let mut keys = ApiKeys::new();
    for (index, entry) in config.keys.iter().enumerate() {
        let at = |field: &str| format!("api_keys.keys[{index}].{field}");
        let (Some(label), Some(principal), Some(hash)) =
            (&entry.label, &entry.principal, &entry.hash)
        else {
            problems.push(Problem::new(
                format!("api_keys.keys[{index}]"),
                "label, principal and hash are required",
            ));
            continue;
        };
        match ApiKey::from_hash(label, principal, hash) {
            Ok(key) => {
                let scopes: Vec<&str> = entry.scopes.iter().flat_map(List::iter).collect();
                let roles: Vec<&str> = entry.roles.iter().flat_map(List::iter).collect();
                keys = keys.key(key.scopes(scopes).roles(roles));
            }
            Err(error) => problems.push(Problem::new(at("hash"), error.to_string())),
        }
    }
    if let Some((path, bytes)) = config
        .file
        .as_ref()
        .and_then(|path| Some((path, read_file(path, "api_keys.file", problems)?)))
    {
        match std::str::from_utf8(&bytes) {
            Ok(text) => {
                for (number, line) in text.lines().enumerate() {
                    let line = line.split('#').next().unwrap_or_default().trim();
                    if line.is_empty() {
                        continue;
                    }
                    let at = format!("api_keys.file:{}", number + 1);
                    let mut words = line.split_whitespace();
                    let (Some(label), Some(principal), Some(hash)) =
                        (words.next(), words.next(), words.next())
                    else {
                        problems.push(Problem::new(
                            at,
                            "expected: label principal sha256:hash [scope ...]",
                        ));
                        continue;
                    };
                    match ApiKey::from_hash(label, principal, hash) {
                        Ok(key) => keys = keys.key(key.scopes(words)),
                        Err(error) => problems.push(Problem::new(at, error.to_string())),
                    }
                }
            }
            Err(_) => problems.push(Problem::new(
                "api_keys.file",
                format!("{}: not text", path.display()),
            )),
        }
    }
    if let Some(name) = &config.header {
        match keys.clone().header(name) {
            Ok(with_header) => keys = with_header,
            Err(error) => problems.push(Problem::new("api_keys.header", error.to_string())),
        }
    }
    (problems.len() == before).then_some(keys)
}

/// The decryption keys in the file at `path`: a PEM private key, or a JWK or JWK Set.
fn decryption_keys(path: &Path, at: &str, problems: &mut Vec<Problem>) -> Vec<DecryptionKey> {
    let Some(bytes) = read_file(path, at, problems) else {
        return Vec::new();
    };
    let Ok(text) = std::str::from_utf8(&bytes) else {
        problems.push(Problem::new(at, format!("{}: not text", path.display())));
        return Vec::new();
    };
    match DecryptionKey::from_file_text(text) {
        Ok(keys) => keys,
        Err(error) => {
            // The error names the problem, never the key material.
            problems.push(Problem::new(at, format!("{}: {error}", path.display())));
            Vec::new()
        }
    }
}

/// A secret file's content without one trailing newline (editors and `echo` add it).
fn read_secret(path: &Path, at: &str, problems: &mut Vec<Problem>) -> Option<Vec<u8>> {
    let mut bytes = read_file(path, at, problems)?;
    if bytes.ends_with(b"\n") {
        bytes.pop();
        if bytes.ends_with(b"\r") {
            bytes.pop();
        }
    }
    if bytes.is_empty() {
        problems.push(Problem::new(at, format!("{}: empty", path.display())));
        return None;
    }
    Some(bytes)
}
