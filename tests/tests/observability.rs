//! Each example's `/metrics` (Prometheus text) after admitted, denied and key-fetch events, and
//! its `/ready` probe. One Prometheus recorder for the process: each example gets its own
//! issuer, so its lines are told apart by the `tokengate_issuer` label. The names are
//! OpenTelemetry's (`tokengate.requests`), printed with OpenTelemetry's recommended Prometheus
//! naming: the Prometheus names of before, the attributes with `.` as `_`.

use std::net::SocketAddr;
use std::sync::OnceLock;

use metrics_exporter_prometheus::PrometheusHandle;
use tokengate::{Issuer, KeySource, Verifier};
use tokengate_testkit::{IssuerServer, claims_for};

fn handle() -> PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            // The examples install the same recorder (with histogram buckets); one per process.
            axum_api::install_prometheus().expect("one recorder")
        })
        .clone()
}

async fn listen() -> (tokio::net::TcpListener, SocketAddr) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    (listener, addr)
}

async fn exercise(name: &str, addr: SocketAddr, server: &IssuerServer) {
    let client = reqwest::Client::builder().no_proxy().build().unwrap();
    let base = format!("http://{addr}");
    let token = server.mint(&claims_for(&server.issuer(), "api"));
    let admitted = client
        .get(format!("{base}/me"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(admitted.status(), 200, "{name}");
    let denied = client.get(format!("{base}/me")).send().await.unwrap();
    assert_eq!(denied.status(), 401, "{name}");
    let ready = client.get(format!("{base}/ready")).send().await.unwrap();
    assert_eq!(ready.status(), 200, "{name}");
    let body: serde_json::Value = serde_json::from_str(&ready.text().await.unwrap()).unwrap();
    assert_eq!(body["ready"], true, "{name}");
    assert_eq!(body["issuers"][0]["issuer"], server.issuer(), "{name}");
    let metrics = client.get(format!("{base}/metrics")).send().await.unwrap();
    assert_eq!(metrics.status(), 200, "{name}");
    assert!(
        metrics.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain"),
        "{name}"
    );
    let text = metrics.text().await.unwrap();
    let issuer = server.issuer();
    for line in [
        format!(r#"tokengate_requests_total{{tokengate_outcome="admitted",tokengate_token_kind="jwt",tokengate_issuer="{issuer}"}}"#),
        format!(r#"tokengate_key_fetches_total{{tokengate_issuer="{issuer}",tokengate_result="ok"}} 1"#),
        format!(r#"tokengate_keys_loaded{{tokengate_issuer="{issuer}"}} 1"#),
        r#"tokengate_requests_total{tokengate_outcome="denied",error_type="missing_credentials",tokengate_token_kind="none",tokengate_issuer="none"}"#.to_owned(),
        "# TYPE tokengate_request_duration_seconds histogram".to_owned(),
        r#"tokengate_request_duration_seconds_bucket{tokengate_outcome="admitted",le="0.001"}"#.to_owned(),
        "# TYPE tokengate_requests_total counter".to_owned(),
    ] {
        assert!(text.contains(&line), "{name}: {line} missing from\n{text}");
    }
    assert!(
        !text.contains(&token[..20]),
        "{name}: the token is in the metrics"
    );
}

fn verifier(server: &IssuerServer) -> Verifier {
    Verifier::builder()
        .issuer(
            Issuer::new(server.issuer())
                .audience("api")
                .keys(KeySource::jwks_url(server.jwks_url())),
        )
        .build()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_example_serves_its_metrics_and_readiness() {
    let metrics = handle();

    let server = IssuerServer::start().await;
    let (listener, addr) = listen().await;
    let app = axum_api::router_with(
        verifier(&server),
        axum_api::DEFAULT_ADMIN_ACR,
        Some(metrics.clone()),
    );
    tokio::spawn(async move { axum::serve(listener, app).await });
    exercise("axum-api", addr, &server).await;

    let server = IssuerServer::start().await;
    let (listener, addr) = listen().await;
    let routes = warp_api::routes_with(
        verifier(&server),
        warp_api::DEFAULT_ADMIN_ACR,
        Some(metrics.clone()),
    );
    tokio::spawn(warp::serve(routes).incoming(listener).run());
    exercise("warp-api", addr, &server).await;

    let server = IssuerServer::start().await;
    let std_listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = std_listener.local_addr().unwrap();
    let configure = actix_api::configure_with(
        verifier(&server),
        actix_api::DEFAULT_ADMIN_ACR.to_owned(),
        Some(metrics.clone()),
    );
    std::thread::spawn(move || {
        actix_web::rt::System::new().block_on(async move {
            actix_web::HttpServer::new(move || actix_web::App::new().configure(configure.clone()))
                .workers(1)
                .listen(std_listener)
                .expect("listen")
                .run()
                .await
        })
    });
    exercise("actix-api", addr, &server).await;
}
