//! TLS policy of the OpenStack client: which server certificates it trusts.
//!
//! OpenStack clouds usually serve certificates from a public or an in-house CA; the second is
//! what `cacert` in a `clouds.yaml` names. As in the XAPI client, the configuration names the
//! ring provider explicitly and never installs a process-wide default.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{WebPkiSupportedAlgorithms, verify_tls12_signature, verify_tls13_signature};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, SignatureScheme};

/// Which server certificates the client trusts.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum TlsPolicy {
    /// The platform's trust store.
    #[default]
    SystemRoots,
    /// The platform's trust store plus the CA certificates of this PEM file.
    CaBundle(PathBuf),
    /// Any certificate (`verify: false`): an explicit opt-out that leaves the connection open
    /// to a man in the middle.
    Insecure,
}

/// Certificate bundles are a few hundred KiB at most; a mistaken path fails instead of being
/// read whole.
const MAX_BUNDLE: u64 = 16 << 20;

/// A rustls client configuration for `policy`: ring provider, TLS 1.2 and 1.3.
pub(crate) fn client_config(policy: &TlsPolicy) -> Result<ClientConfig, String> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let algorithms = provider.signature_verification_algorithms;
    let builder = ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|error| format!("TLS versions: {error}"))?
        .dangerous();
    let verifier: Arc<dyn ServerCertVerifier> = match policy {
        TlsPolicy::SystemRoots => Arc::new(
            rustls_platform_verifier::Verifier::new(provider)
                .map_err(|error| format!("platform trust store: {error}"))?,
        ),
        TlsPolicy::CaBundle(path) => {
            let roots = read_bundle(path)?;
            Arc::new(
                rustls_platform_verifier::Verifier::new_with_extra_roots(roots, provider)
                    .map_err(|error| format!("CA bundle {}: {error}", path.display()))?,
            )
        }
        TlsPolicy::Insecure => Arc::new(AnyCertificate { algorithms }),
    };
    Ok(builder
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth())
}

fn read_bundle(path: &Path) -> Result<Vec<CertificateDer<'static>>, String> {
    let size = fs::metadata(path)
        .map_err(|error| format!("CA bundle {}: {error}", path.display()))?
        .len();
    if size > MAX_BUNDLE {
        return Err(format!(
            "CA bundle {} is larger than {MAX_BUNDLE} bytes",
            path.display()
        ));
    }
    let pem = fs::read(path).map_err(|error| format!("CA bundle {}: {error}", path.display()))?;
    let roots = CertificateDer::pem_slice_iter(&pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|error| format!("CA bundle {}: {error}", path.display()))?;
    if roots.is_empty() {
        return Err(format!("CA bundle {} holds no certificate", path.display()));
    }
    Ok(roots)
}

/// Accepts any certificate; handshake signatures are still verified with its key.
#[derive(Debug)]
struct AnyCertificate {
    algorithms: WebPkiSupportedAlgorithms,
}

impl ServerCertVerifier for AnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}
