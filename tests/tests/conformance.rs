//! Every adapter, one table. Adding an adapter is one line in `SERVERS`.

use std::net::SocketAddr;

use tokengate::Verifier;
use tokengate_conformance::{Adapter, Guard, run};
use tokengate_tower::AuthLayer;

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

fn tonic(
    verifier: Verifier,
    guard: Guard,
) -> std::pin::Pin<Box<dyn std::future::Future<Output = SocketAddr> + Send>> {
    Box::pin(async move {
        let (reporter, health) = tonic_health::server::health_reporter();
        reporter
            .set_service_status("", tonic_health::ServingStatus::Serving)
            .await;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a loopback port");
        let addr = listener.local_addr().expect("an address");
        let incoming = tokio_stream::wrappers::TcpListenerStream::new(listener);
        // Let tokengate's own 16 KiB token cap answer, not the HTTP/2 header-list limit.
        let mut router = tonic::transport::Server::builder().http2_max_header_list_size(64 * 1024);
        match guard {
            Guard::Public => {
                tokio::spawn(router.add_service(health).serve_with_incoming(incoming));
            }
            Guard::Required => {
                let layer = AuthLayer::new(verifier);
                tokio::spawn(
                    router
                        .layer(layer)
                        .add_service(health)
                        .serve_with_incoming(incoming),
                );
            }
            Guard::Scoped => {
                let layer = AuthLayer::new(verifier).require_scopes(["messages:read"]);
                tokio::spawn(
                    router
                        .layer(layer)
                        .add_service(health)
                        .serve_with_incoming(incoming),
                );
            }
            Guard::Optional => {
                let layer = AuthLayer::new(verifier).optional();
                tokio::spawn(
                    router
                        .layer(layer)
                        .add_service(health)
                        .serve_with_incoming(incoming),
                );
            }
        }
        addr
    })
}

fn actix(
    verifier: Verifier,
) -> std::pin::Pin<Box<dyn std::future::Future<Output = SocketAddr> + Send>> {
    Box::pin(async move {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a loopback port");
        let addr = listener.local_addr().expect("an address");
        // actix-web runs its own (single-threaded) runtime: serve from a thread of its own.
        std::thread::spawn(move || {
            actix_web::rt::System::new().block_on(async move {
                let configure = actix_api::configure(verifier);
                actix_web::HttpServer::new(move || {
                    actix_web::App::new().configure(configure.clone())
                })
                .workers(1)
                .listen(listener)
                .expect("listen")
                .run()
                .await
            })
        });
        addr
    })
}

fn warp(
    verifier: Verifier,
) -> std::pin::Pin<Box<dyn std::future::Future<Output = SocketAddr> + Send>> {
    Box::pin(async move {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a loopback port");
        let addr = listener.local_addr().expect("an address");
        tokio::spawn(
            warp::serve(warp_api::routes(verifier))
                .incoming(listener)
                .run(),
        );
        addr
    })
}

const SERVERS: &[(&str, Adapter)] = &[
    ("axum", Adapter::Http(axum)),
    ("tonic", Adapter::Grpc(tonic)),
    ("warp", Adapter::Http(warp)),
    ("actix-web", Adapter::Http(actix)),
];

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
