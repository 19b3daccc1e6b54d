//! Every adapter, one table. Adding an adapter is one line in `SERVERS`.

use std::net::SocketAddr;

use tokengate::Verifier;
use tokengate_conformance::{Serve, run};

fn axum(
    verifier: Verifier,
) -> std::pin::Pin<Box<dyn std::future::Future<Output = SocketAddr> + Send>> {
    Box::pin(async move {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a loopback port");
        let addr = listener.local_addr().expect("an address");
        tokio::spawn(async move { axum::serve(listener, axum_api::router(verifier)).await });
        addr
    })
}

const SERVERS: &[(&str, Serve)] = &[("axum", axum)];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_adapter_answers_every_scenario_identically() {
    let mut failures = Vec::new();
    for (name, serve) in SERVERS {
        failures.extend(run(name, *serve).await);
    }
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
