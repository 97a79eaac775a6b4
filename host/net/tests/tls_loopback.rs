//! The TLS policies against a real TLS server on loopback that serves a self-signed certificate,
//! as an XCP-ng host does, through reqwest configured by `tls::apply`.

use std::error::Error;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use lifeboat_net::tls::{Fingerprint, TlsPolicy, apply};
use rustls::SupportedProtocolVersion;
use rustls::crypto::ring;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

const HOST: &str = "xcp-ng.lifeboat.test";
const BOTH_VERSIONS: [&SupportedProtocolVersion; 2] =
    [&rustls::version::TLS13, &rustls::version::TLS12];

/// A self-signed host certificate and its private key.
struct Identity {
    der: CertificateDer<'static>,
    pem: String,
    key: PrivateKeyDer<'static>,
}

impl Identity {
    fn generate() -> Self {
        let generated = rcgen::generate_simple_self_signed(vec![HOST.to_owned()]).unwrap();
        Self {
            der: generated.cert.der().clone(),
            pem: generated.cert.pem(),
            key: PrivateKeyDer::Pkcs8(generated.signing_key.serialize_der().into()),
        }
    }

    fn fingerprint(&self) -> Fingerprint {
        Fingerprint::of_der(&self.der)
    }
}

/// Presents one certificate with one key, which need not belong together: an impostor presents
/// the host's certificate but signs with a key of its own.
#[derive(Debug)]
struct Presents(Arc<CertifiedKey>);

impl ResolvesServerCert for Presents {
    fn resolve(&self, _: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.0.clone())
    }
}

/// Serves `certificate`, signing with `key`, answering every request with `ok` over HTTP/1.1.
async fn serve(
    certificate: &CertificateDer<'static>,
    key: &PrivateKeyDer<'static>,
    version: &'static SupportedProtocolVersion,
) -> SocketAddr {
    let signer = ring::sign::any_supported_type(key).unwrap();
    let presented = CertifiedKey::new(vec![certificate.clone()], signer);
    let mut config =
        rustls::ServerConfig::builder_with_provider(Arc::new(ring::default_provider()))
            .with_protocol_versions(&[version])
            .unwrap()
            .with_no_client_auth()
            .with_cert_resolver(Arc::new(Presents(Arc::new(presented))));
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    let acceptor = TlsAcceptor::from(Arc::new(config));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                // A client that rejects the certificate ends the handshake: nothing to answer.
                let Ok(mut tls) = acceptor.accept(tcp).await else {
                    return;
                };
                // The client offers only HTTP/1.1, so the server cannot have chosen h2.
                assert_eq!(tls.get_ref().1.alpn_protocol(), Some(&b"http/1.1"[..]));
                let mut request = Vec::new();
                let mut buffer = [0; 1024];
                while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                    match tls.read(&mut buffer).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => request.extend_from_slice(&buffer[..n]),
                    }
                }
                let response =
                    "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok";
                let _ = tls.write_all(response.as_bytes()).await;
                let _ = tls.shutdown().await;
            });
        }
    });
    address
}

/// GETs `/` from the host at `address` under `policy`: the body, or the error with its causes.
async fn get(policy: &TlsPolicy, address: SocketAddr) -> Result<String, String> {
    let client = apply(reqwest::Client::builder(), policy)
        .unwrap()
        .resolve(HOST, address)
        .no_proxy()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    let url = format!("https://{HOST}:{}/", address.port());
    match client.get(url).send().await {
        Ok(response) => Ok(response.text().await.unwrap()),
        Err(error) => {
            let mut message = error.to_string();
            let mut source = error.source();
            while let Some(cause) = source {
                message.push_str(": ");
                message.push_str(&cause.to_string());
                source = cause.source();
            }
            Err(message)
        }
    }
}

#[tokio::test]
async fn a_pin_of_the_hosts_certificate_file_connects() {
    let host = Identity::generate();
    let dir = tempfile::tempdir().unwrap();
    let pem = dir.path().join("host.pem");
    std::fs::write(&pem, &host.pem).unwrap();
    let pin = Fingerprint::of_file(&pem).unwrap();
    assert_eq!(pin, host.fingerprint());
    for version in BOTH_VERSIONS {
        let address = serve(&host.der, &host.key, version).await;
        assert_eq!(
            get(&TlsPolicy::Pinned(pin), address).await.as_deref(),
            Ok("ok")
        );
    }
}

#[tokio::test]
async fn a_pin_of_another_certificate_fails_naming_both() {
    let host = Identity::generate();
    let other = Identity::generate();
    let address = serve(&host.der, &host.key, &rustls::version::TLS13).await;
    let error = get(&TlsPolicy::Pinned(other.fingerprint()), address)
        .await
        .unwrap_err();
    assert!(
        error.contains("does not match the pinned certificate"),
        "{error}"
    );
    assert!(error.contains(&host.fingerprint().to_string()), "{error}");
    assert!(error.contains(&other.fingerprint().to_string()), "{error}");
}

#[tokio::test]
async fn insecure_accepts_a_self_signed_certificate() {
    let host = Identity::generate();
    for version in BOTH_VERSIONS {
        let address = serve(&host.der, &host.key, version).await;
        assert_eq!(
            get(&TlsPolicy::Insecure, address).await.as_deref(),
            Ok("ok")
        );
    }
}

#[tokio::test]
async fn system_roots_refuse_a_self_signed_certificate() {
    let host = Identity::generate();
    let address = serve(&host.der, &host.key, &rustls::version::TLS13).await;
    let error = get(&TlsPolicy::SystemRoots, address).await.unwrap_err();
    assert!(error.contains("UnknownIssuer"), "{error}");
}

#[tokio::test]
async fn an_impostor_without_the_hosts_key_fails_under_a_pin_and_when_insecure() {
    let host = Identity::generate();
    let impostor = Identity::generate();
    for version in BOTH_VERSIONS {
        let address = serve(&host.der, &impostor.key, version).await;
        for policy in [TlsPolicy::Pinned(host.fingerprint()), TlsPolicy::Insecure] {
            let error = get(&policy, address).await.unwrap_err();
            assert!(
                error.contains("BadSignature"),
                "{policy}, {version:?}: {error}"
            );
        }
    }
}

/// A CA certificate (as PEM) and a host certificate it signed, with the host's key.
fn issued_by_a_ca() -> (String, Identity) {
    let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    let ca = rcgen::CertifiedIssuer::self_signed(ca_params, rcgen::KeyPair::generate().unwrap())
        .unwrap();
    let host_key = rcgen::KeyPair::generate().unwrap();
    let host = rcgen::CertificateParams::new(vec![HOST.to_owned()])
        .unwrap()
        .signed_by(&host_key, &ca)
        .unwrap();
    let identity = Identity {
        der: host.der().clone(),
        pem: host.pem(),
        key: PrivateKeyDer::Pkcs8(host_key.serialize_der().into()),
    };
    (ca.pem(), identity)
}

#[tokio::test]
async fn a_ca_bundle_trusts_the_hosts_its_ca_signed_and_no_other() {
    let (ca, host) = issued_by_a_ca();
    let (other_ca, _) = issued_by_a_ca();
    let dir = tempfile::tempdir().unwrap();
    let (bundle, other_bundle) = (dir.path().join("ca.pem"), dir.path().join("other.pem"));
    std::fs::write(&bundle, &ca).unwrap();
    std::fs::write(&other_bundle, &other_ca).unwrap();
    let address = serve(&host.der, &host.key, &rustls::version::TLS13).await;
    assert_eq!(
        get(&TlsPolicy::CaBundle(bundle), address).await.as_deref(),
        Ok("ok")
    );
    let error = get(&TlsPolicy::CaBundle(other_bundle), address)
        .await
        .unwrap_err();
    assert!(error.contains("certificate"), "{error}");
    let empty = dir.path().join("empty.pem");
    std::fs::write(&empty, "").unwrap();
    let error = lifeboat_net::tls::client_config(&TlsPolicy::CaBundle(empty)).unwrap_err();
    assert!(
        error.to_string().contains("holds no PEM certificate"),
        "{error}"
    );
}
