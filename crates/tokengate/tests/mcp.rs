//! The MCP entry points of the core (feature `mcp`), through the pipeline.

/// The MCP sequence verifies the token once: `before_body` verifies it from the headers,
/// and `decide_mcp_checked` reuses that verification — but only for the same token: given
/// another request's headers, it verifies that request's own token.
#[test]
fn the_headers_check_and_the_decision_verify_the_token_once() {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use tokengate::adapter::{Admission, Decision, Policy, RequestView};
    use tokengate::mcp::McpScopes;

    static READS: AtomicUsize = AtomicUsize::new(0);
    /// Claims that count how often the caller's type is read (once per verification).
    #[derive(Debug)]
    struct Counted;
    impl<'de> serde::Deserialize<'de> for Counted {
        fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            serde::de::IgnoredAny::deserialize(d)?;
            READS.fetch_add(1, Ordering::SeqCst);
            Ok(Counted)
        }
    }
    let (key, verifier) = tokengate_testkit::fixture::static_verifier();
    let token = |sub: &str| {
        let mut claims = tokengate_testkit::claims_at(
            tokengate_testkit::fixture::ISSUER,
            tokengate_testkit::fixture::AUDIENCE,
            tokengate_testkit::NOW,
        );
        claims["sub"] = serde_json::json!(sub);
        key.mint(&claims)
    };
    let headers = |token: &str| {
        let mut headers = http::HeaderMap::new();
        headers.insert("authorization", format!("Bearer {token}").parse().unwrap());
        headers
    };
    let body = r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"list_messages","arguments":{}}}"#;
    let scopes = || McpScopes::new().tool("list_messages", ["messages:read"]);
    let (alice, bob) = (headers(&token("alice")), headers(&token("bob")));
    let policy = Policy::new();
    let view = RequestView::new("POST", "/mcp", None, &alice);
    let checked = verifier
        .before_body::<Counted, _>(&view, &policy, None)
        .unwrap();
    assert_eq!(READS.load(Ordering::SeqCst), 1);
    let decision =
        verifier.decide_mcp_checked(&view, body.as_bytes(), &scopes(), &policy, None, checked);
    assert!(matches!(decision, Decision::Admit(Admission::Verified(_))));
    assert_eq!(READS.load(Ordering::SeqCst), 1, "verified once");
    // Another request's check is not this request's verification.
    let checked = verifier
        .before_body::<Counted, _>(&view, &policy, None)
        .unwrap();
    let other = RequestView::new("POST", "/mcp", None, &bob);
    let Decision::Admit(Admission::Verified(verified)) =
        verifier.decide_mcp_checked(&other, body.as_bytes(), &scopes(), &policy, None, checked)
    else {
        panic!("bob's own token verifies");
    };
    assert_eq!(verified.subject(), Some("bob"));
    assert_eq!(READS.load(Ordering::SeqCst), 3);
}
