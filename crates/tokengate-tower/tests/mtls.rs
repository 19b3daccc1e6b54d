//! Certificate-bound tokens (RFC 8705) with the server's own TLS: a rustls server that asks
//! for client certificates puts each connection's certificate in the request extensions
//! ([`ConnectionInfo`]), and the layer admits a bound token only with its certificate.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::routing::get;
use axum::{Extension, Router};
use hyper_util::rt::TokioIo;
use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer as CertIssuer, KeyPair};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use rustls::server::WebPkiClientVerifier;
use tokengate::adapter::ConnectionInfo;
use tokengate::{Algorithm, Issuer, KeySource, StandardClaims, Verified, Verifier};
use tokengate_testkit::dpop::bind_certificate;
use tokengate_testkit::{TestKey, claims_for, jwks};
use tokengate_tower::AuthLayer;
use tower::ServiceExt;

const ISS: &str = "https://issuer.test/";

struct Pki {
    ca: CertificateDer<'static>,
    server: (CertificateDer<'static>, PrivateKeyDer<'static>),
    /// The client's certificate (DER) and its PEM identity (certificate and key).
    client: (Vec<u8>, String),
    other_client: (Vec<u8>, String),
}

fn pki() -> Pki {
    let ca_key = KeyPair::generate().unwrap();
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca = ca_params.self_signed(&ca_key).unwrap();
    let issuer = CertIssuer::new(ca_params, ca_key);
    let server_key = KeyPair::generate().unwrap();
    let server = CertificateParams::new(vec!["localhost".to_owned()])
        .unwrap()
        .signed_by(&server_key, &issuer)
        .unwrap();
    let client = |name: &str| {
        let key = KeyPair::generate().unwrap();
        let cert = CertificateParams::new(vec![name.to_owned()])
            .unwrap()
            .signed_by(&key, &issuer)
            .unwrap();
        let identity = format!("{}{}", cert.pem(), key.serialize_pem());
        (cert.der().to_vec(), identity)
    };
    Pki {
        ca: ca.der().clone(),
        server: (
            server.der().clone(),
            PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(server_key.serialize_der())),
        ),
        client: client("client.test"),
        other_client: client("other.test"),
    }
}

/// Serves `router` over TLS requiring client certificates from `pki`'s CA; each request gets
/// its connection's [`ConnectionInfo`].
async fn serve_mtls(router: Router, pki: &Pki) -> SocketAddr {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut roots = rustls::RootCertStore::empty();
    roots.add(pki.ca.clone()).unwrap();
    let client_verifier =
        WebPkiClientVerifier::builder_with_provider(Arc::new(roots), Arc::clone(&provider))
            .build()
            .unwrap();
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_client_cert_verifier(client_verifier)
        .with_single_cert(vec![pki.server.0.clone()], pki.server.1.clone_key())
        .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((tcp, peer)) = listener.accept().await else {
                return;
            };
            let acceptor = acceptor.clone();
            let router = router.clone();
            tokio::spawn(async move {
                let Ok(tls) = acceptor.accept(tcp).await else {
                    return;
                };
                // What the handshake verified, for every request on this connection.
                let info = ConnectionInfo {
                    peer: Some(peer),
                    client_certificate: tls
                        .get_ref()
                        .1
                        .peer_certificates()
                        .and_then(|chain| chain.first())
                        .map(|der| bytes::Bytes::copy_from_slice(der)),
                };
                let service = hyper::service::service_fn(
                    move |mut request: hyper::Request<hyper::body::Incoming>| {
                        request.extensions_mut().insert(info.clone());
                        router.clone().oneshot(request)
                    },
                );
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(tls), service)
                    .await;
            });
        }
    });
    addr
}

fn client(pki: &Pki, identity: &str) -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .tls_certs_only([reqwest::Certificate::from_der(&pki.ca).unwrap()])
        .identity(reqwest::Identity::from_pem(identity.as_bytes()).unwrap())
        .build()
        .unwrap()
}

#[tokio::test]
async fn a_certificate_bound_token_is_admitted_only_over_its_certificate() {
    let pki = pki();
    let key = TestKey::shared(Algorithm::ES256);
    let verifier = Verifier::builder()
        .issuer(
            Issuer::new(ISS)
                .audience("api")
                .keys(KeySource::jwks_json(jwks(&[&key]))),
        )
        .build()
        .unwrap();
    let router = Router::new()
        .route(
            "/me",
            get(
                |Extension(claims): Extension<Verified<StandardClaims>>| async move {
                    format!(
                        "{} {}",
                        claims.subject().unwrap_or("-"),
                        claims.is_sender_constrained()
                    )
                },
            ),
        )
        .layer(AuthLayer::new(verifier));
    let addr = serve_mtls(router, &pki).await;
    let url = format!("https://localhost:{}/me", addr.port());
    let bound = key.mint(&bind_certificate(claims_for(ISS, "api"), &pki.client.0));

    // Over the certificate the token is bound to.
    let response = client(&pki, &pki.client.1)
        .get(&url)
        .bearer_auth(&bound)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.text().await.unwrap(), "alice true");

    // Over another (equally trusted) certificate: refused.
    let response = client(&pki, &pki.other_client.1)
        .get(&url)
        .bearer_auth(&bound)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
    assert_eq!(
        response.headers()["www-authenticate"],
        r#"Bearer realm="api", error="invalid_token", error_description="the access token is not bound to this client""#
    );

    // An unbound token works over any certificate.
    let plain = key.mint(&claims_for(ISS, "api"));
    let response = client(&pki, &pki.other_client.1)
        .get(&url)
        .bearer_auth(&plain)
        .send()
        .await
        .unwrap();
    assert_eq!(response.text().await.unwrap(), "alice false");
}
