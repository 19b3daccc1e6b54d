//! Golden files: a valid configuration per provider preset, a file with several mistakes and
//! exactly its problems, and the environment over a file.

// figment's `Jail` closures return its own (large) error type.
#![allow(clippy::result_large_err)]

use std::path::PathBuf;

use figment::Jail;
use tokengate_config::Config;

fn golden(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden")
        .join(name)
}

#[test]
fn every_provider_preset_has_a_valid_configuration() {
    let presets = [
        ("okta", "https://dev-123.okta.com/oauth2/default"),
        ("auth0", "https://example.eu.auth0.com/"),
        ("keycloak", "https://sso.example.com/realms/staff"),
        (
            "entra_id",
            "https://login.microsoftonline.com/00000000-0000-0000-0000-000000000000/v2.0",
        ),
        ("google", "https://accounts.google.com"),
        (
            "cognito",
            "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbCdEf123",
        ),
    ];
    for (preset, iss) in presets {
        let config = Config::from_file_only(golden(&format!("{preset}.toml")))
            .unwrap_or_else(|problems| panic!("{preset}: {problems}"));
        assert_eq!(config.issuers[0].preset.as_deref(), Some(preset));
        let verifier = config
            .verifier()
            .unwrap_or_else(|problems| panic!("{preset}: {problems}"));
        assert_eq!(verifier.issuers().collect::<Vec<_>>(), [iss], "{preset}");
    }
    // Every preset the core knows has its golden file.
    assert_eq!(presets.len(), tokengate::Provider::ALL.len());
}

#[test]
fn a_file_with_several_mistakes_yields_exactly_those_problems() {
    let problems = Config::from_file_only(golden("mistakes.toml")).unwrap_err();
    let expected = std::fs::read_to_string(golden("mistakes.expected")).unwrap();
    assert_eq!(problems.to_string(), expected.trim_end());
    // No secret in any message.
    assert!(!problems.to_string().contains("hunter2"));
}

#[test]
fn the_environment_overrides_the_file() {
    Jail::expect_with(|jail| {
        jail.create_file(
            "tokengate.toml",
            r#"
                issuer = "https://id.example.com/"
                audience = "api://from-file"
                jwks_url = "https://id.example.com/keys"
                leeway_secs = 30
                [cache]
                max_entries = 100
            "#,
        )?;
        jail.set_env("TOKENGATE_AUDIENCE", "api://one, api://two");
        jail.set_env("TOKENGATE_CACHE__MAX_ENTRIES", "5000");
        jail.set_env("TOKENGATE_RFC9068", "1");
        // Variables of the application, not of the configuration: left alone.
        jail.set_env("TOKENGATE_ADDR", "127.0.0.1:3000");
        jail.set_env("TOKENGATE_ADMIN_ACR", "urn:mfa");
        let config = Config::from_file("tokengate.toml").map_err(|p| p.to_string())?;
        assert_eq!(
            config.audience.as_ref().unwrap().0,
            ["api://one", "api://two"]
        );
        assert_eq!(config.cache.as_ref().unwrap().max_entries, Some(5000));
        assert!(config.cache.as_ref().unwrap().enabled);
        assert!(config.rfc9068);
        assert_eq!(config.leeway_secs, Some(30), "the file's value stays");
        config.verifier().map_err(|p| p.to_string())?;
        // TOKENGATE_CONFIG names the file for Config::load.
        jail.set_env("TOKENGATE_CONFIG", "tokengate.toml");
        let loaded = Config::load().map_err(|p| p.to_string())?;
        assert_eq!(loaded.audience, config.audience);
        Ok(())
    });
}

#[test]
fn a_problem_in_the_environment_names_its_variable() {
    Jail::expect_with(|jail| {
        jail.set_env("TOKENGATE_ISSUER", "https://id.example.com/");
        jail.set_env("TOKENGATE_AUDIENCE", "api");
        jail.set_env("TOKENGATE_LEEWAY_SECS", "soon");
        jail.set_env("TOKENGATE_CACHE__MAX_AGE_SECS", "-1");
        let problems = Config::load().unwrap_err().to_string();
        assert_eq!(
            problems,
            "cache.max_age_secs (TOKENGATE_CACHE__MAX_AGE_SECS): invalid value: integer `-1`, expected u64\n\
             leeway_secs (TOKENGATE_LEEWAY_SECS): invalid type: string \"soon\", expected u64"
        );
        Ok(())
    });
}

#[test]
fn without_an_issuer_nothing_is_built() {
    Jail::expect_with(|_| {
        let problems = Config::load().unwrap_err();
        assert_eq!(problems.len(), 1, "{problems}");
        assert!(
            problems.to_string().contains("TOKENGATE_ISSUER is not set"),
            "{problems}"
        );
        Ok(())
    });
}

#[test]
fn secrets_come_from_files_or_the_environment_never_the_file_itself() {
    Jail::expect_with(|jail| {
        jail.create_file("secret.txt", "s3cr3t-value\n")?;
        jail.create_file(
            "tokengate.toml",
            r#"
                issuer = "https://id.example.com/"
                audience = "api"
                introspection_url = "https://id.example.com/introspect"
                introspection_client_id = "orders"
                introspection_client_secret_file = "secret.txt"
            "#,
        )?;
        let config = Config::from_file_only("tokengate.toml").map_err(|p| p.to_string())?;
        config.verifier().map_err(|p| p.to_string())?;
        assert!(!format!("{config:?}").contains("s3cr3t"));

        jail.create_file(
            "inline.toml",
            r#"
                issuer = "https://id.example.com/"
                audience = "api"
                introspection_client_id = "orders"
                introspection_client_secret = "s3cr3t-value"
                redis_url = "redis://:p4ss@127.0.0.1:6379/0"
            "#,
        )?;
        let problems = Config::from_file_only("inline.toml")
            .unwrap_err()
            .to_string();
        assert!(
            !problems.contains("s3cr3t") && !problems.contains("p4ss"),
            "{problems}"
        );
        assert_eq!(
            problems,
            "introspection_client_secret: a secret written in the file: put it in a file named by \
             `introspection_client_secret_file`, or in the environment\n\
             redis_url: a password written in the file: put the URL in a file named by \
             `redis_url_file`, or in the environment"
        );

        // The same secret from the environment is accepted.
        jail.set_env("TOKENGATE_INTROSPECTION_CLIENT_SECRET", "s3cr3t-value");
        jail.create_file(
            "env.toml",
            r#"
                issuer = "https://id.example.com/"
                audience = "api"
                introspection_client_id = "orders"
            "#,
        )?;
        let config = Config::from_file("env.toml").map_err(|p| p.to_string())?;
        config.verifier().map_err(|p| p.to_string())?;
        Ok(())
    });
}

/// A secret is text whatever it looks like: a numeric or boolean-looking secret in the
/// environment is read exactly (leading zeros kept), and never appears in a message. Before,
/// figment read `93847561029384756` as a number and the type error printed it.
#[test]
fn secrets_that_look_like_numbers_are_read_as_text_and_never_printed() {
    Jail::expect_with(|jail| {
        jail.create_file(
            "env.toml",
            r#"
                issuer = "https://id.example.com/"
                audience = "api"
                introspection_url = "https://id.example.com/introspect"
                introspection_client_id = "orders"
            "#,
        )?;
        for secret in ["93847561029384756", "0123456789", "true", "1e5"] {
            jail.set_env("TOKENGATE_INTROSPECTION_CLIENT_SECRET", secret);
            let config = Config::from_file("env.toml").map_err(|p| p.to_string())?;
            assert_eq!(
                config
                    .introspection_client_secret
                    .as_ref()
                    .map(|s| s.0.as_str()),
                Some(secret)
            );
            config.verifier().map_err(|p| p.to_string())?;
            assert!(!format!("{config:?}").contains(secret));
        }
        // A Redis URL that is a number is a problem, named without its value.
        jail.set_env("TOKENGATE_REDIS_URL", "93847561029384756");
        let problems = match Config::from_file("env.toml") {
            Ok(config) => config.verifier().err().map(|p| p.to_string()),
            Err(problems) => Some(problems.to_string()),
        }
        .unwrap_or_default();
        assert!(!problems.contains("93847561029384756"), "{problems}");
        Ok(())
    });
}

/// Secret files group or others may read are reported (and logged as a warning when the
/// verifier is built), with the setting that names them.
#[cfg(unix)]
#[test]
fn secret_files_readable_by_others_are_reported() {
    use std::os::unix::fs::PermissionsExt;
    Jail::expect_with(|jail| {
        jail.create_file("secret.txt", "s3cr3t-value\n")?;
        jail.create_file("hmac.key", "0123456789abcdef0123456789abcdef")?;
        jail.create_file(
            "tokengate.toml",
            r#"
                [[issuers]]
                iss = "https://id.example.com/"
                audiences = ["api"]
                secret_file = "hmac.key"

                [issuers.introspection]
                url = "https://id.example.com/introspect"
                client_id = "orders"
                client_secret_file = "secret.txt"
            "#,
        )?;
        let mode = |path: &str, mode: u32| {
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
        };
        mode("secret.txt", 0o644);
        mode("hmac.key", 0o640);
        let config = Config::from_file_only("tokengate.toml").map_err(|p| p.to_string())?;
        let exposed: Vec<String> = config
            .exposed_secret_files()
            .into_iter()
            .map(|(at, path)| format!("{at} {}", path.display()))
            .collect();
        assert_eq!(
            exposed,
            [
                "issuers[0].secret_file hmac.key",
                "issuers[0].introspection.client_secret_file secret.txt"
            ]
        );
        mode("secret.txt", 0o600);
        mode("hmac.key", 0o400);
        assert!(config.exposed_secret_files().is_empty());
        Ok(())
    });
}

/// A DPoP window past 300 s is a problem, not silently capped.
#[test]
fn a_dpop_window_past_300_seconds_is_a_problem() {
    let problems = Config::from_toml(
        r#"
            issuer = "https://id.example.com/"
            audience = "api"
            jwks_url = "https://id.example.com/jwks"

            [dpop]
            window_secs = 301
        "#,
    )
    .unwrap_err()
    .to_string();
    assert_eq!(
        problems,
        "dpop.window_secs: 301 is not from 1 to 300 seconds"
    );
}

#[test]
fn a_syntax_error_names_the_file() {
    Jail::expect_with(|jail| {
        jail.create_file(
            "broken.toml",
            "issuer = \"https://id.example.com/\"\naudience = [\n",
        )?;
        let problems = Config::from_file_only("broken.toml").unwrap_err();
        assert_eq!(problems.len(), 1);
        let problem = problems.iter().next().unwrap();
        assert_eq!(problem.path(), "broken.toml");
        Ok(())
    });
}

/// Long-lived connections from the configuration: the WebSocket subprotocol source and the
/// re-check interval reach the verifier; zero and a bad marker are problems with their keys.
#[test]
fn websocket_tokens_and_connection_rechecks_come_from_the_configuration() {
    Jail::expect_with(|jail| {
        jail.create_file(
            "tokengate.toml",
            r#"
                issuer = "https://id.example.com/"
                audience = "api"
                jwks_url = "https://id.example.com/keys"
                connection_recheck_secs = 30
                [token_sources]
                websocket_protocol = "access_token"
            "#,
        )?;
        let verifier = Config::from_file("tokengate.toml")
            .and_then(|config| config.verifier())
            .map_err(|p| p.to_string())?;
        assert_eq!(
            verifier.connection_recheck(),
            Some(std::time::Duration::from_secs(30))
        );
        let mut offer = tokengate::http::HeaderMap::new();
        offer.insert(
            "sec-websocket-protocol",
            "access_token, a.b.c".parse().unwrap(),
        );
        assert_eq!(
            verifier
                .token_sources()
                .websocket_reply_protocol(&offer, &[]),
            Some("access_token"),
            "the marker is configured"
        );
        jail.set_env("TOKENGATE_CONNECTION_RECHECK_SECS", "0");
        jail.set_env("TOKENGATE_TOKEN_SOURCES__WEBSOCKET_PROTOCOL", "a b");
        let problems = Config::from_file("tokengate.toml")
            .and_then(|config| config.verifier())
            .unwrap_err()
            .to_string();
        assert!(problems.contains("connection_recheck_secs"), "{problems}");
        assert!(
            problems.contains("token_sources.websocket_protocol"),
            "{problems}"
        );
        Ok(())
    });
}

/// Encrypted tokens from the configuration: key files (a JWK, a JWK Set, a PEM) decrypt
/// tokens; a key file that is not a key is a problem naming the file, never its content.
#[test]
fn decryption_keys_come_from_files() {
    use tokengate::keys::{ContentEncryption, KeyManagement};
    use tokengate_testkit::jwe::Recipient;

    Jail::expect_with(|jail| {
        let first = [1u8; 32];
        let second = [2u8; 32];
        let b64 = |k: &[u8]| {
            use base64::Engine;
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(k)
        };
        jail.create_file(
            "jwe.json",
            &format!(r#"{{"kty":"oct","kid":"one","k":"{}"}}"#, b64(&first)),
        )?;
        jail.create_file(
            "jwks.json",
            &format!(
                r#"{{"keys":[{{"kty":"oct","kid":"two","k":"{}"}}]}}"#,
                b64(&second)
            ),
        )?;
        jail.create_file(
            "tokengate.toml",
            r#"
                issuer = "https://id.example.com/"
                audience = "api"
                jwks_url = "https://id.example.com/keys"
                decryption_keys = ["jwks.json"]
                decryption_key_file = "jwe.json"
                content_encryptions = ["A256GCM"]
            "#,
        )?;
        let verifier = Config::from_file("tokengate.toml")
            .and_then(|config| config.verifier())
            .map_err(|p| p.to_string())?;
        // Both keys decrypt; the JWT inside then fails on its (unfetchable) keys, past
        // decryption: not `undecryptable_token`.
        for (kid, secret) in [("one", first), ("two", second)] {
            let token = Recipient::from_secret(&secret).with_kid(kid).encrypt(
                "e30.e30.sig",
                KeyManagement::A256Kw,
                ContentEncryption::A256Gcm,
            );
            let error = match verifier.try_verify::<serde_json::Value>(&token) {
                tokengate::verifier::Attempt::Done(result) => result.unwrap_err(),
                tokengate::verifier::Attempt::NeedsIo(_) => continue,
            };
            assert_ne!(
                error.kind(),
                tokengate::ErrorKind::UndecryptableToken,
                "{kid}"
            );
        }
        jail.create_file("secret.txt", "hunter2-not-a-key")?;
        jail.set_env("TOKENGATE_DECRYPTION_KEY_FILE", "secret.txt");
        jail.set_env("TOKENGATE_CONTENT_ENCRYPTIONS", "A192GCM");
        let problems = Config::from_file("tokengate.toml")
            .and_then(|config| config.verifier())
            .unwrap_err()
            .to_string();
        assert!(problems.contains("decryption_key_file"), "{problems}");
        assert!(problems.contains("secret.txt"), "{problems}");
        assert!(problems.contains("content_encryptions"), "{problems}");
        assert!(!problems.contains("hunter2"), "{problems}");
        Ok(())
    });
}

/// Multi-tenant issuers from the configuration: a templated `iss` with its tenants (flat, from
/// the environment, and as a table), and several spellings of one issuer.
#[test]
fn issuer_templates_and_aliases_come_from_the_configuration() {
    Jail::expect_with(|jail| {
        jail.set_env(
            "TOKENGATE_ISSUER",
            "https://login.microsoftonline.com/{tenantid}/v2.0",
        );
        jail.set_env("TOKENGATE_TENANTS", "contoso, fabrikam");
        jail.set_env("TOKENGATE_AUDIENCE", "api");
        let verifier = Config::load()
            .and_then(|config| config.verifier())
            .map_err(|p| p.to_string())?;
        assert_eq!(
            verifier.issuers().collect::<Vec<_>>(),
            [
                "https://login.microsoftonline.com/contoso/v2.0",
                "https://login.microsoftonline.com/fabrikam/v2.0"
            ]
        );
        jail.create_file(
            "tokengate.toml",
            r#"
                [[issuers]]
                iss = "https://tenant.eu.auth0.com/"
                also_issued_as = ["https://login.example.com/"]
                audiences = ["api"]
                preset = "auth0"
            "#,
        )?;
        jail.clear_env();
        let verifier = Config::from_file("tokengate.toml")
            .and_then(|config| config.verifier())
            .map_err(|p| p.to_string())?;
        assert_eq!(verifier.issuers().count(), 2);
        // Any tenant, as an explicit opt-in naming the tenant claim.
        jail.clear_env();
        jail.set_env(
            "TOKENGATE_ISSUER",
            "https://login.microsoftonline.com/{tenantid}/v2.0",
        );
        jail.set_env("TOKENGATE_ANY_TENANT_CLAIM", "tid");
        jail.set_env("TOKENGATE_AUDIENCE", "api");
        let verifier = Config::load()
            .and_then(|config| config.verifier())
            .map_err(|p| p.to_string())?;
        assert_eq!(verifier.issuers().count(), 1, "the template itself");
        jail.set_env("TOKENGATE_TENANTS", "contoso");
        let problems = Config::load()
            .and_then(|c| c.verifier())
            .unwrap_err()
            .to_string();
        assert!(problems.contains("not both"), "{problems}");
        jail.clear_env();
        // A template without its tenants is a problem with its key.
        jail.set_env("TOKENGATE_ISSUER", "https://login.test/{tenant}/v2.0");
        jail.set_env("TOKENGATE_AUDIENCE", "api");
        let problems = Config::load()
            .and_then(|c| c.verifier())
            .unwrap_err()
            .to_string();
        assert!(problems.contains("tenant"), "{problems}");
        Ok(())
    });
}

#[test]
fn api_keys_come_from_the_file_and_a_hash_file_never_as_keys() {
    use tokengate::adapter::{Decision, Policy, RequestView};
    use tokengate::apikey::generate;

    let (from_toml, from_file, env) = (generate(), generate(), generate());
    Jail::expect_with(|jail| {
        jail.create_file(
            "api-keys",
            &format!(
                "# label principal hash scopes\nnightly svc-nightly {} reports:read\n\n",
                from_file.hash
            ),
        )?;
        jail.create_file(
            "tokengate.toml",
            &format!(
                r#"
                issuer = "https://id.example.com/"
                audience = "api"
                jwks_url = "https://id.example.com/keys"

                [api_keys]
                header = "X-API-Key"
                file = "api-keys"

                [[api_keys.keys]]
                label = "billing"
                principal = "svc-billing"
                hash = "{}"
                scopes = ["invoices:read"]
                roles = ["service"]
                "#,
                from_toml.hash
            ),
        )?;
        let verifier = Config::from_file("tokengate.toml")
            .and_then(|config| config.verifier())
            .map_err(|p| p.to_string())?;
        let admit = |header: &str, value: String| {
            let mut headers = http::HeaderMap::new();
            headers.insert(
                http::HeaderName::from_bytes(header.as_bytes()).unwrap(),
                value.parse().unwrap(),
            );
            let request = RequestView::new("GET", "/", None, &headers);
            match verifier.decide::<tokengate::StandardClaims, _>(&request, &Policy::new(), None) {
                Decision::Admit(tokengate::adapter::Admission::Verified(v)) => {
                    Some(v.subject().unwrap_or_default().to_owned())
                }
                _ => None,
            }
        };
        assert_eq!(
            admit("x-api-key", from_toml.key.clone()).as_deref(),
            Some("svc-billing")
        );
        assert_eq!(
            admit("authorization", format!("ApiKey {}", from_file.key)).as_deref(),
            Some("svc-nightly")
        );
        assert_eq!(admit("x-api-key", env.key.clone()), None);
        // The environment names the hash file.
        jail.create_file("other-keys", &format!("env svc-env {}\n", env.hash))?;
        jail.set_env("TOKENGATE_API_KEYS__FILE", "other-keys");
        let verifier = Config::from_file("tokengate.toml")
            .and_then(|config| config.verifier())
            .map_err(|p| p.to_string())?;
        let mut headers = http::HeaderMap::new();
        headers.insert("x-api-key", env.key.parse().unwrap());
        let request = RequestView::new("GET", "/", None, &headers);
        assert!(matches!(
            verifier.decide::<tokengate::StandardClaims, _>(&request, &Policy::new(), None),
            Decision::Admit(_)
        ));
        Ok(())
    });
}

#[test]
fn a_bad_api_key_line_is_a_problem_that_names_its_place_not_its_hash() {
    let hash = tokengate::apikey::generate().hash;
    let problems = Config::from_toml(&format!(
        r#"
            issuer = "https://id.example.com/"
            audience = "api"
            jwks_url = "https://id.example.com/jwks"

            [api_keys]
            header = "authorization"

            [[api_keys.keys]]
            label = "ok"
            principal = "svc"
            hash = "{hash}"

            [[api_keys.keys]]
            label = "bad"
            principal = "svc"
            hash = "{}x"

            [[api_keys.keys]]
            label = "missing"
        "#,
        &hash[..20]
    ))
    .unwrap_err()
    .to_string();
    assert!(problems.contains("api_keys.keys[1].hash"), "{problems}");
    assert!(
        problems.contains("api_keys.keys[2]: label, principal and hash are required"),
        "{problems}"
    );
    assert!(problems.contains("api_keys.header"), "{problems}");
    assert!(!problems.contains(&hash[7..27]), "{problems}");
}
