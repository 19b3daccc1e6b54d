//! The root demo's printout: tokens from the development issuer and a curl line per route of
//! the reference API. (The example templates never start an issuer.)

use serde_json::json;

use crate::IssuerServer;
use crate::dpop::DpopKey;

/// The files the demo wrote (the DPoP client key): removed when this is dropped, so a demo
/// that ends (Ctrl+C) leaves nothing behind in the temporary directory.
#[derive(Debug)]
#[must_use = "dropping it removes the key file the printed commands use"]
pub struct DemoFiles(Option<std::path::PathBuf>);

impl Drop for DemoFiles {
    fn drop(&mut self) {
        if let Some(path) = self.0.take() {
            let _ = std::fs::remove_file(path);
        }
    }
}

/// Prints a token with `messages:read`, one without, and a curl line per route; keep the
/// returned [`DemoFiles`] while the demo serves.
pub fn print_demo(server: &IssuerServer, audience: &str, base: &str) -> DemoFiles {
    let now = crate::now();
    let claims = |sub: &str, scope: &str| {
        json!({
            "iss": server.issuer(), "sub": sub, "aud": audience, "iat": now, "nbf": now,
            "exp": now + 3600, "client_id": "demo-client", "scope": scope,
        })
    };
    let reader = server.mint(&claims("alice", "openid profile messages:read"));
    let visitor = server.mint(&claims("bob", "openid profile"));
    println!();
    println!("Development issuer (loopback only). To use yours, run an example template:");
    println!(
        "  TOKENGATE_ISSUER=<your issuer> TOKENGATE_AUDIENCE=<your API> cargo run -p axum-api"
    );
    println!("Token for alice, with messages:read (valid 1 h):\n  {reader}");
    println!("Token for bob, without messages:read:\n  {visitor}");
    println!();
    println!("Try:");
    println!("  curl -i {base}/health");
    println!("  curl -i {base}/me                                             # 401, no token");
    println!("  curl -i -H 'Authorization: Bearer {reader}' {base}/me");
    println!("  curl -i -H 'Authorization: Bearer {reader}' {base}/messages");
    println!(
        "  curl -i -H 'Authorization: Bearer {visitor}' {base}/messages   # 403 insufficient_scope"
    );
    println!("  curl -i {base}/greeting");
    println!("  curl -i -H 'Authorization: Bearer {visitor}' {base}/greeting");
    println!(
        "  curl -N -H 'Authorization: Bearer {reader}' {base}/events    # SSE until the token ends"
    );
    let ws = base.replacen("http", "ws", 1);
    println!(
        "In a browser console (the token after the marker `access_token`; closes with 1008 at exp):"
    );
    println!(
        "  s = new WebSocket('{ws}/ws', ['access_token', '{reader}']); s.onmessage = e => console.log(e.data); s.onopen = () => s.send('hi')"
    );
    println!();
    DemoFiles(print_dpop(
        server,
        &claims("alice", "openid profile messages:read"),
        base,
    ))
}

/// A DPoP-bound token and the steps to call with it: a key file for the CLI, a proof per
/// request (each proof is single-use and valid for a minute). The key file's path, when it
/// was written.
fn print_dpop(
    server: &IssuerServer,
    claims: &serde_json::Value,
    base: &str,
) -> Option<std::path::PathBuf> {
    let client = DpopKey::generate(tokengate::Algorithm::ES256);
    let path = std::env::temp_dir().join(format!("tokengate-demo-dpop-{}.pem", std::process::id()));
    if std::fs::write(&path, client.private_pem()).is_err() {
        return None;
    }
    let token = server.mint(&client.bind(claims.clone()));
    let key = path.display();
    println!("DPoP (RFC 9449): a token bound to the client key in {key}:");
    println!("  TOKEN={token}");
    println!(
        "  PROOF=$(cargo run -q -p tokengate-cli -- dpop-proof --key {key} --method GET \\\n      --url {base}/me --token \"$TOKEN\")"
    );
    println!("  curl -i -H \"Authorization: DPoP $TOKEN\" -H \"DPoP: $PROOF\" {base}/me");
    println!(
        "  curl -i -H \"Authorization: Bearer $TOKEN\" {base}/me              # 401: a bound token needs its proof"
    );
    println!();
    Some(path)
}
