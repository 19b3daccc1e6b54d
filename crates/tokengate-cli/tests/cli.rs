//! The `tokengate` command, run as a process: JSON lines, exit codes, fixed clock, key forms.

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

use serde_json::{Value, json};
use tokengate::Algorithm;
use tokengate_testkit::{Fault, IssuerServer, NOW, TestKey, claims_at, jwks};

const ISS: &str = "https://issuer.test/";
const AUD: &str = "api://test";

fn temp_file(name: &str, contents: &[u8]) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("tokengate-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, contents).unwrap();
    path
}

fn run(args: &[&str], stdin: Option<&str>) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_tokengate"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    if let Some(text) = stdin {
        input.write_all(text.as_bytes()).unwrap();
    }
    drop(input);
    child.wait_with_output().unwrap()
}

fn lines(output: &Output) -> Vec<Value> {
    String::from_utf8(output.stdout.clone())
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn jwks_args(key: &TestKey, name: &str) -> Vec<String> {
    let path = temp_file(name, jwks(&[key]).as_bytes());
    [
        "verify",
        "--issuer",
        ISS,
        "--audience",
        AUD,
        "--now",
        &NOW.to_string(),
        "--jwks",
        path.to_str().unwrap(),
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

#[test]
fn valid_tokens_print_claims_and_exit_0() {
    let key = TestKey::shared(Algorithm::ES256);
    let token = key.mint(&claims_at(ISS, AUD, NOW));
    let mut args = jwks_args(&key, "valid.json");
    args.push(token);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let output = run(&args, None);
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let out = lines(&output);
    assert_eq!(out.len(), 1);
    assert_eq!(out[0]["valid"], true);
    assert_eq!(out[0]["sub"], "alice");
    assert_eq!(out[0]["claims"]["email"], "alice@example.com");
}

#[test]
fn stdin_tokens_one_per_line_and_any_invalid_exits_1() {
    let key = TestKey::shared(Algorithm::RS256);
    let good = key.mint(&claims_at(ISS, AUD, NOW));
    let expired = key.mint(&claims_at(ISS, AUD, NOW - 3600));
    let wrong_aud = key.mint(&claims_at(ISS, "api://other", NOW));
    let args = jwks_args(&key, "stdin.json");
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let output = run(
        &args,
        Some(&format!("{good}\n\n{expired}\n{wrong_aud}\nnot-a-token\n")),
    );
    assert_eq!(output.status.code(), Some(1));
    let out = lines(&output);
    assert_eq!(out.len(), 4);
    assert_eq!(out[0]["valid"], true);
    assert_eq!(
        out[1],
        json!({"line": 3, "valid": false, "error": "expired", "description": "the token expired"})
    );
    assert_eq!(out[2]["error"], "invalid_audience");
    // A mismatch shows the token's value beside the configured ones.
    assert_eq!(out[2]["token_aud"], "api://other");
    assert_eq!(out[2]["configured_audiences"], json!([AUD]));
    assert_eq!(out[3]["error"], "malformed_token");
    let all = String::from_utf8(output.stdout).unwrap();
    assert!(
        !all.contains(&expired[..20]),
        "an invalid token is never echoed"
    );
}

#[test]
fn now_fixes_the_clock() {
    let key = TestKey::shared(Algorithm::EdDSA);
    let token = key.mint(&claims_at(ISS, AUD, NOW));
    let path = temp_file("now.json", jwks(&[&key]).as_bytes());
    let at = |now: u64| {
        let now = now.to_string();
        run(
            &[
                "verify",
                "--issuer",
                ISS,
                "--audience",
                AUD,
                "--jwks",
                path.to_str().unwrap(),
                "--now",
                &now,
                &token,
            ],
            None,
        )
    };
    assert_eq!(at(NOW + 299).status.code(), Some(0));
    assert_eq!(lines(&at(NOW + 360))[0]["error"], "expired");
    assert_eq!(lines(&at(NOW - 3600))[0]["error"], "not_yet_valid");
}

#[test]
fn secret_file_and_pem_key() {
    let hs = TestKey::shared(Algorithm::HS256);
    let secret = temp_file("secret.bin", hs.secret().unwrap());
    let token = hs.mint(&claims_at(ISS, AUD, NOW));
    let now = NOW.to_string();
    let out = run(
        &[
            "verify",
            "--issuer",
            ISS,
            "--audience",
            AUD,
            "--secret-file",
            secret.to_str().unwrap(),
            "--now",
            &now,
            &token,
        ],
        None,
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );

    let rs = TestKey::shared(Algorithm::PS256);
    let pem = temp_file("key.pem", rs.public_pem().as_bytes());
    let der = temp_file("key.der", &rs.public_der());
    let token = rs.mint(&claims_at(ISS, AUD, NOW));
    for key in [&pem, &der] {
        let out = run(
            &[
                "verify",
                "--issuer",
                ISS,
                "--audience",
                AUD,
                "--key",
                key.to_str().unwrap(),
                "--alg",
                "PS256",
                "--now",
                &now,
                &token,
            ],
            None,
        );
        assert_eq!(out.status.code(), Some(0));
    }
    let out = run(
        &[
            "verify",
            "--issuer",
            ISS,
            "--audience",
            AUD,
            "--key",
            pem.to_str().unwrap(),
            "--alg",
            "RS256",
            "--now",
            &now,
            &token,
        ],
        None,
    );
    assert_eq!(lines(&out)[0]["error"], "disallowed_algorithm");
}

#[test]
fn rfc9068_flag_requires_at_jwt() {
    let key = TestKey::shared(Algorithm::ES256);
    let mut args = jwks_args(&key, "rfc9068.json");
    args.push("--rfc9068".into());
    let plain = key.mint(&claims_at(ISS, AUD, NOW));
    let at_jwt = key.mint_with_header(
        &json!({"alg": "ES256", "kid": key.kid(), "typ": "at+jwt"}),
        &claims_at(ISS, AUD, NOW),
    );
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = run(&args, Some(&format!("{at_jwt}\n{plain}\n")));
    assert_eq!(out.status.code(), Some(1));
    let out = lines(&out);
    assert_eq!(out[0]["valid"], true);
    assert_eq!(out[1]["error"], "invalid_type");
}

#[test]
fn usage_and_configuration_errors_exit_2() {
    let key = TestKey::shared(Algorithm::ES256);
    let path = temp_file("usage.json", jwks(&[&key]).as_bytes());
    let jwks = path.to_str().unwrap();
    let weak = temp_file("weak.bin", b"too short");
    let weak = weak.to_str().unwrap();
    let full = [
        "verify",
        "--issuer",
        ISS,
        "--audience",
        AUD,
        "--jwks",
        jwks,
        "x",
    ];
    let with = |extra: &[&'static str]| -> Vec<&str> { [&full[..7], extra, &["x"]].concat() };
    let cases: Vec<Vec<&str>> = vec![
        vec!["verify", "--audience", AUD, "--jwks", jwks, "x"],
        vec!["verify", "--issuer", ISS, "--jwks", jwks, "x"],
        vec![
            "verify",
            "--issuer",
            "http://idp.example.com",
            "--audience",
            AUD,
            "x",
        ],
        vec![
            "verify",
            "--issuer",
            ISS,
            "--audience",
            AUD,
            "--jwks",
            "http://idp.example.com/jwks",
            "x",
        ],
        with(&["--alg", "none"]),
        with(&["--leeway", "301"]),
        vec![
            "verify",
            "--issuer",
            ISS,
            "--audience",
            AUD,
            "--secret-file",
            weak,
            "x",
        ],
        vec![
            "verify",
            "--issuer",
            ISS,
            "--audience",
            AUD,
            "--jwks",
            "/nonexistent/jwks.json",
            "x",
        ],
        vec!["frobnicate"],
    ];
    for args in cases {
        let out = run(&args, None);
        assert_eq!(
            out.status.code(),
            Some(2),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(out.stdout.is_empty());
    }
}

#[test]
fn no_arguments_prints_help() {
    let out = run(&[], None);
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("verify") && text.contains("decode"), "{text}");
}

#[test]
fn decode_prints_unverified_header_and_claims() {
    let attacker = TestKey::generate(Algorithm::HS256);
    let token = attacker.mint(&claims_at(ISS, AUD, NOW));
    let out = run(&["decode", &token], None);
    assert_eq!(out.status.code(), Some(0));
    let value = &lines(&out)[0];
    assert_eq!(value["unverified"], true);
    assert_eq!(value["header"]["alg"], "HS256");
    assert_eq!(value["claims"]["sub"], "alice");
    assert!(String::from_utf8_lossy(&out.stderr).contains("UNVERIFIED"));
    let bad = run(&["decode", "a.b"], None);
    assert_eq!(bad.status.code(), Some(1));
    assert_eq!(lines(&bad)[0]["error"], "malformed_token");
}

/// `--jwks URL` and discovery from `--issuer`, against a real issuer on loopback.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn remote_keys_by_url_and_by_discovery() {
    let server = IssuerServer::start().await;
    let token = server.mint(&claims_at(&server.issuer(), AUD, NOW));
    let (iss, url, now) = (server.issuer(), server.jwks_url(), NOW.to_string());
    let by_url: Vec<String> = [
        "verify",
        "--issuer",
        &iss,
        "--audience",
        AUD,
        "--jwks",
        &url,
        "--now",
        &now,
        &token,
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let by_discovery: Vec<String> = [
        "verify",
        "--issuer",
        &iss,
        "--audience",
        AUD,
        "--now",
        &now,
        &token,
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let call = |args: Vec<String>| {
        tokio::task::spawn_blocking(move || {
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            run(&args, None)
        })
    };
    let out = call(by_url.clone()).await.unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert_eq!(lines(&out)[0]["sub"], "alice");
    let out = call(by_discovery).await.unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert_eq!(server.discovery_requests(), 1);

    server.set_fault(Fault::Refuse).await;
    let out = call(by_url).await.unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(lines(&out)[0]["error"], "keys_unavailable");
}

#[test]
fn an_empty_token_is_malformed_and_no_token_is_not_success() {
    let key = TestKey::shared(Algorithm::ES256);
    let args = jwks_args(&key, "empty.json");
    let mut with_empty: Vec<&str> = args.iter().map(String::as_str).collect();
    with_empty.push("");
    let output = run(&with_empty, None);
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(lines(&output)[0]["error"], "malformed_token");

    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    for stdin in ["", "\n  \n"] {
        let output = run(&args, Some(stdin));
        assert_eq!(output.status.code(), Some(2), "stdin {stdin:?}");
        assert!(output.stdout.is_empty());
        let stderr = String::from_utf8(output.stderr).unwrap();
        assert!(stderr.contains("no token to verify"), "{stderr}");
    }
}

#[test]
fn decode_reads_stdin_and_pretty_shows_relative_times() {
    let key = TestKey::shared(Algorithm::ES256);
    let token = key.mint(&claims_at(ISS, AUD, NOW));
    let now = (NOW + 60).to_string();
    let out = run(
        &["decode", "--pretty", "--now", &now, "-"],
        Some(&format!("{token}\n")),
    );
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("\n  \"claims\": {"), "indented: {text}");
    let value: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(value["claims"]["sub"], "alice");
    // claims_at: iat = NOW, exp = NOW + 300; judged at NOW + 60.
    assert_eq!(value["times"]["iat"], "60 s ago");
    assert_eq!(value["times"]["exp"], "in 4 min");
}

#[test]
fn every_verify_line_names_its_input_line() {
    let key = TestKey::shared(Algorithm::ES256);
    let args = jwks_args(&key, "lines.json");
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let good = key.mint(&claims_at(ISS, AUD, NOW));
    let stdin = format!("{good}\n\nnot-a-token\n{good}\n");
    let output = run(&args, Some(&stdin));
    assert_eq!(output.status.code(), Some(1));
    let lines = lines(&output);
    let numbers: Vec<u64> = lines.iter().map(|l| l["line"].as_u64().unwrap()).collect();
    assert_eq!(
        numbers,
        [1, 3, 4],
        "the blank line 2 is skipped, not renumbered"
    );
    assert_eq!(lines[1]["valid"], false);
    assert_eq!(lines[1]["error"], "malformed_token");
}

/// `--introspect`: opaque tokens are checked at the RFC 7662 endpoint.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn opaque_tokens_by_introspection() {
    let server = IssuerServer::start().await;
    let active = server.issue_opaque(&claims_at(&server.issuer(), AUD, NOW));
    let revoked = server.issue_opaque(&claims_at(&server.issuer(), AUD, NOW));
    server.revoke(&revoked);
    let secret = temp_file(
        "introspection-secret",
        tokengate_testkit::INTROSPECTION_CLIENT_SECRET.as_bytes(),
    );
    let args = vec![
        "verify".to_owned(),
        "--issuer".to_owned(),
        server.issuer(),
        "--audience".to_owned(),
        AUD.to_owned(),
        "--now".to_owned(),
        NOW.to_string(),
        "--jwks".to_owned(),
        server.jwks_url(),
        "--introspect".to_owned(),
        server.introspection_url(),
        "--client-id".to_owned(),
        tokengate_testkit::INTROSPECTION_CLIENT_ID.to_owned(),
        "--client-secret-file".to_owned(),
        secret.to_str().unwrap().to_owned(),
        active,
        revoked,
    ];
    let output = tokio::task::spawn_blocking(move || {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        run(&args, None)
    })
    .await
    .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let lines = lines(&output);
    assert_eq!(lines[0]["valid"], true);
    assert_eq!(lines[0]["sub"], "alice");
    assert_eq!(lines[1]["error"], "inactive_token");
}

#[test]
fn verify_pretty_indents_and_shows_relative_times() {
    let key = TestKey::shared(Algorithm::ES256);
    let mut args = jwks_args(&key, "pretty.json");
    args.push("--pretty".to_owned());
    args.push(key.mint(&claims_at(ISS, AUD, NOW)));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let output = run(&args, None);
    assert_eq!(output.status.code(), Some(0));
    let text = String::from_utf8(output.stdout).unwrap();
    assert!(text.contains("\n  \"claims\": {"), "{text}");
    let value: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(value["times"]["exp"], "in 5 min");
    assert_eq!(value["line"], 1);
}

#[test]
fn dpop_key_and_proof_make_a_request_the_pipeline_admits() {
    use tokengate::adapter::{Admission, Decision, Policy, RequestView};
    use tokengate::{Issuer, KeySource, StandardClaims, Verifier};

    let dir = std::env::temp_dir().join(format!("tokengate-cli-dpop-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let key_path = dir.join("client.pem");
    let key_arg = key_path.to_str().unwrap();
    let output = run(&["dpop-key", "--out", key_arg], None);
    assert!(output.status.success(), "{output:?}");
    let printed: Value = serde_json::from_slice(&output.stdout).unwrap();
    let jkt = printed["jkt"].as_str().unwrap().to_owned();
    assert_eq!(jkt, tokengate_testkit::dpop::thumbprint(&printed["jwk"]));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&key_path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    // An existing key is never overwritten.
    assert_eq!(
        run(&["dpop-key", "--out", key_arg], None).status.code(),
        Some(2)
    );

    let issuer = TestKey::shared(Algorithm::ES256);
    let mut claims = claims_at("https://issuer.test/", "api", tokengate_testkit::now());
    claims["cnf"] = json!({ "jkt": jkt });
    let token = issuer.mint(&claims);
    let output = run(
        &[
            "dpop-proof",
            "--key",
            key_arg,
            "--method",
            "GET",
            "--url",
            "http://api.test/me",
            "--token",
            &token,
        ],
        None,
    );
    assert!(output.status.success(), "{output:?}");
    let proof = String::from_utf8(output.stdout).unwrap().trim().to_owned();

    let verifier = Verifier::builder()
        .issuer(
            Issuer::new("https://issuer.test/")
                .audience("api")
                .keys(KeySource::jwks_json(jwks(&[&issuer]))),
        )
        .build()
        .unwrap();
    let mut headers = tokengate::http::HeaderMap::new();
    headers.insert("authorization", format!("DPoP {token}").parse().unwrap());
    headers.insert("dpop", proof.parse().unwrap());
    headers.insert("host", "api.test".parse().unwrap());
    let request = RequestView::new("GET", "/me", None, &headers);
    let decision = verifier.decide::<StandardClaims, _>(&request, &Policy::new(), None);
    assert!(
        matches!(decision, Decision::Admit(Admission::Verified(_))),
        "{decision:?}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revoke_cuts_a_token_off_for_every_instance_sharing_the_redis() {
    use tokengate::{StandardClaims, Verifier};
    let Some(redis) = tokengate_testkit::redis_server::RedisServer::start_or_skip() else {
        return;
    };
    let store = tokengate_redis::RedisStore::open(&redis.url()).unwrap();
    let key = TestKey::shared(Algorithm::ES256);
    let verifier = Verifier::builder()
        .issuer(
            tokengate::Issuer::new(ISS)
                .audience(AUD)
                .keys(tokengate::KeySource::jwks_json(jwks(&[&key]))),
        )
        .revocation(store)
        .build()
        .unwrap();
    let mut claims = claims_at(ISS, AUD, tokengate_testkit::now());
    claims["jti"] = json!("leaked-1");
    let token = key.mint(&claims);
    assert!(verifier.verify::<StandardClaims>(&token).await.is_ok());
    let until = (tokengate_testkit::now() + 600).to_string();
    let output = tokio::task::spawn_blocking({
        let url = redis.url();
        let until = until.clone();
        move || {
            run(
                &[
                    "revoke", "--redis", &url, "--issuer", ISS, "--jti", "leaked-1", "--until",
                    &until,
                ],
                None,
            )
        }
    })
    .await
    .unwrap();
    assert!(output.status.success(), "{output:?}");
    let printed = lines(&output);
    assert_eq!(printed[0]["revoked"], json!(true));
    assert_eq!(printed[0]["jti"], json!("leaked-1"));
    let error = verifier.verify::<StandardClaims>(&token).await.unwrap_err();
    assert_eq!(error.kind(), tokengate::ErrorKind::Revoked);
    // Usage errors exit 2; an unreachable store exits 1.
    assert_eq!(
        run(
            &[
                "revoke",
                "--redis",
                &redis.url(),
                "--issuer",
                ISS,
                "--until",
                &until
            ],
            None
        )
        .status
        .code(),
        Some(2)
    );
    let closed = tokio::task::spawn_blocking(move || {
        run(
            &[
                "revoke",
                "--redis",
                "redis://127.0.0.1:1/0",
                "--issuer",
                ISS,
                "--sub",
                "alice",
                "--until",
                &until,
            ],
            None,
        )
    })
    .await
    .unwrap();
    assert_eq!(closed.status.code(), Some(1));
}

fn sample_config() -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../examples/tokengate.toml")
        .display()
        .to_string()
}

#[test]
fn check_config_accepts_the_sample_and_lists_every_problem_of_a_bad_file() {
    let out = run(&["check-config", "--ignore-env", &sample_config()], None);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("valid") && stdout.contains("issuer https://id.example.com/"));
    assert!(stdout.contains("/.well-known/oauth-protected-resource/orders"));

    let bad = temp_file(
        "bad.toml",
        b"leeway_secs = 900\n[[issuers]]\niss = \"https://id.example.com/\"\naudiense = \"api\"\n",
    );
    let out = run(
        &["check-config", "--ignore-env", bad.to_str().unwrap()],
        None,
    );
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("3 problems"), "{stderr}");
    for line in [
        "issuers[0].audiences: not set",
        "issuers[0].audiense: unknown key (did you mean `audiences`?)",
        "leeway_secs: 900 is more than 300 seconds",
    ] {
        assert!(stderr.contains(line), "{line} missing from {stderr}");
    }

    // The environment applies over the file, as in a service (unless --ignore-env).
    let out = Command::new(env!("CARGO_BIN_EXE_tokengate"))
        .args(["check-config", &sample_config()])
        .env("TOKENGATE_LEEWAY_SECS", "301")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains("leeway_secs (TOKENGATE_LEEWAY_SECS): 301 is more than 300 seconds")
    );

    let out = run(&["check-config", "/no/such/tokengate.toml"], None);
    assert_eq!(out.status.code(), Some(2));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_config_online_reports_what_each_issuer_serves() {
    let server = IssuerServer::start().await;
    let good = temp_file(
        "online.toml",
        format!(
            "[[issuers]]\niss = \"{}\"\naudiences = [\"{AUD}\"]\n",
            server.issuer()
        )
        .as_bytes(),
    );
    let good = good.to_str().unwrap().to_owned();
    let out = tokio::task::spawn_blocking(move || {
        run(&["check-config", "--ignore-env", "--online", &good], None)
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(
        stdout.contains("keys: 1 fetched, algorithms: ES256"),
        "{stdout}"
    );
    assert_eq!(server.discovery_requests(), 1);

    // An issuer that answers nothing: reported, exit 1.
    server.set_fault(Fault::Refuse).await;
    let down = temp_file(
        "down.toml",
        format!(
            "fetch_timeout_ms = 2000\n[[issuers]]\niss = \"{}\"\naudiences = [\"{AUD}\"]\n",
            server.issuer()
        )
        .as_bytes(),
    );
    let down = down.to_str().unwrap().to_owned();
    let out = tokio::task::spawn_blocking(move || {
        run(&["check-config", "--ignore-env", "--online", &down], None)
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains("keys: 0 unavailable, algorithms: none"),
        "{stdout}"
    );
    assert!(stdout.contains("problem: "), "{stdout}");
}

/// `check-config` names a secret file group or others may read (the configuration is still
/// valid: the file may sit in a directory only the service can enter).
#[cfg(unix)]
#[test]
fn check_config_warns_about_secret_files_others_may_read() {
    use std::os::unix::fs::PermissionsExt;
    let secret = temp_file("hmac.key", b"0123456789abcdef0123456789abcdef\n");
    let config = temp_file(
        "secret-file.toml",
        format!(
            "[[issuers]]\niss = \"https://id.example.com/\"\naudiences = [\"api\"]\nalgorithms = [\"HS256\"]\nsecret_file = {:?}\n",
            secret.to_str().unwrap()
        )
        .as_bytes(),
    );
    let check = || {
        let out = run(
            &["check-config", "--ignore-env", config.to_str().unwrap()],
            None,
        );
        assert_eq!(out.status.code(), Some(0));
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    std::fs::set_permissions(&secret, std::fs::Permissions::from_mode(0o644)).unwrap();
    let stdout = check();
    assert!(
        stdout.contains(&format!(
            "warning: issuers[0].secret_file: {} is readable by group or others (chmod 600 it)",
            secret.display()
        )),
        "{stdout}"
    );
    assert!(!stdout.contains("0123456789abcdef"), "{stdout}");
    std::fs::set_permissions(&secret, std::fs::Permissions::from_mode(0o600)).unwrap();
    assert!(!check().contains("warning"));
}

#[test]
fn decryption_keys_open_encrypted_tokens_before_verifying() {
    use tokengate::keys::{ContentEncryption, KeyManagement};
    use tokengate_testkit::jwe::Recipient;

    let key = TestKey::shared(Algorithm::ES256);
    let secret = [9u8; 32];
    let jwe = Recipient::from_secret(&secret).encrypt(
        &key.mint(&claims_at(ISS, AUD, NOW)),
        KeyManagement::A256Kw,
        ContentEncryption::A256Gcm,
    );
    let jwk = serde_json::json!({"kty": "oct", "k": base64_url(&secret)}).to_string();
    let key_file = temp_file("jwe.json", jwk.as_bytes());
    let mut args = jwks_args(&key, "jwe-keys.json");
    args.extend([
        "--decryption-key".to_owned(),
        key_file.to_str().unwrap().to_owned(),
        jwe.clone(),
    ]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let output = run(&args, None);
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(lines(&output)[0]["sub"], "alice");
    // Without the key: refused.
    let mut args = jwks_args(&key, "jwe-nokeys.json");
    args.push(jwe);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    assert_eq!(run(&args, None).status.code(), Some(1));
}

fn base64_url(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

#[test]
fn apikey_new_prints_a_strong_key_and_only_its_hash_for_the_configuration() {
    let output = run(
        &[
            "apikey",
            "new",
            "--label",
            "billing",
            "--principal",
            "svc-billing",
            "--scope",
            "invoices:read",
            "--scope",
            "invoices:write",
        ],
        None,
    );
    assert!(output.status.success(), "{output:?}");
    let text = String::from_utf8(output.stdout).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let key = lines[1];
    assert!(key.starts_with("tgk_"));
    let hash = tokengate::apikey::hash_of(key);
    assert_eq!(
        lines[3],
        format!("billing svc-billing {hash} invoices:read invoices:write")
    );
    assert!(text.contains(&format!("hash = \"{hash}\"")));
    // The key is what the configuration accepts, by its hash; the key appears once.
    assert!(tokengate::apikey::ApiKey::from_key("billing", "svc-billing", key).is_ok());
    assert!(tokengate::apikey::ApiKey::from_hash("billing", "svc-billing", &hash).is_ok());
    assert_eq!(text.matches(key).count(), 1);
    // Two runs, two keys.
    let again = run(&["apikey", "new", "--label", "b", "--principal", "p"], None);
    assert!(!String::from_utf8(again.stdout).unwrap().contains(key));
    // A label with a space would break the file's line.
    let bad = run(
        &["apikey", "new", "--label", "two words", "--principal", "p"],
        None,
    );
    assert_eq!(bad.status.code(), Some(2));
}
