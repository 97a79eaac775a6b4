//! The TLS policy of every Lifeboat client: how it decides to trust a server's certificate.
//!
//! XCP-ng hosts usually serve self-signed certificates, so besides the platform's trust store a
//! user can pin a host's certificate by its SHA-256 fingerprint, or explicitly accept any
//! certificate. OpenStack clouds and S3 stores usually serve certificates from a public or an
//! in-house CA; the second is what a CA bundle (`cacert` in a `clouds.yaml`, `ca_file` in a
//! pipeline) adds to the platform's roots. In every mode the handshake signatures are still
//! verified with the presented certificate's key: a man in the middle who replays the pinned
//! certificate without holding its key fails the handshake.
//!
//! The configuration names the ring provider explicitly and never installs a process-wide
//! default, so it neither depends on nor disturbs what other code in the process chose.

use std::fmt;
use std::fs::{self, File};
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{WebPkiSupportedAlgorithms, verify_tls12_signature, verify_tls13_signature};
use rustls::pki_types::pem::{self, PemObject};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, ClientConfig, DigitallySignedStruct, OtherError, SignatureScheme};
use sha2::{Digest, Sha256};

/// How the client decides whether to trust the server's certificate.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum TlsPolicy {
    /// Verify the chain and the host name against the platform's trust store.
    #[default]
    SystemRoots,
    /// Verify the chain and the host name against the platform's trust store plus the CA
    /// certificates of this PEM file.
    CaBundle(PathBuf),
    /// Accept exactly the certificate with this fingerprint, whoever issued it and whatever its
    /// validity dates and names say: that is what trusting a self-signed host certificate means.
    Pinned(Fingerprint),
    /// Accept any certificate: an explicit opt-out that leaves the connection open to a man in the
    /// middle who presents a certificate of his own.
    Insecure,
}

impl fmt::Display for TlsPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::SystemRoots => f.write_str("system trust store"),
            Self::CaBundle(path) => {
                write!(f, "system trust store and CA bundle {}", path.display())
            }
            Self::Pinned(pin) => write!(f, "pinned certificate {pin}"),
            Self::Insecure => f.write_str("any certificate (insecure)"),
        }
    }
}

/// The SHA-256 fingerprint of a DER-encoded certificate, as `openssl x509 -fingerprint -sha256`
/// computes it.
///
/// Displayed as `sha256:` followed by 64 lowercase hex digits without separators: one token that
/// is easy to copy and parses back. Parsed from 64 hex digits in either case, bare or separated
/// by `:` into pairs (OpenSSL's form), optionally prefixed with `sha256:` in either case.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Fingerprint([u8; 32]);

/// Certificate files are a few KiB; a mistaken path (a disk image) fails instead of being read.
const MAX_CERTIFICATE_FILE: u64 = 1 << 20;

/// CA bundles are a few hundred KiB at most; a mistaken path fails instead of being read whole.
const MAX_BUNDLE: u64 = 16 << 20;

impl Fingerprint {
    /// The fingerprint whose SHA-256 digest is `digest` (as a pipeline file pins it).
    pub fn from_sha256(digest: [u8; 32]) -> Self {
        Fingerprint(digest)
    }

    /// The fingerprint of a certificate in DER form.
    pub fn of_der(der: &[u8]) -> Self {
        Self(Sha256::digest(der).into())
    }

    /// The fingerprint of the certificate in a PEM or DER file.
    ///
    /// A PEM file may hold other sections, such as the private key in XCP-ng's
    /// `/etc/xensource/xapi-ssl.pem`; its first certificate is taken, which in a chain is the
    /// host's own.
    pub fn of_file(path: &Path) -> Result<Self, CertificateFileError> {
        let mut bytes = Vec::new();
        File::open(path)
            .and_then(|file| file.take(MAX_CERTIFICATE_FILE + 1).read_to_end(&mut bytes))
            .map_err(|source| CertificateFileError::Read {
                path: path.to_owned(),
                source,
            })?;
        if bytes.len() as u64 > MAX_CERTIFICATE_FILE {
            return Err(CertificateFileError::TooLarge {
                path: path.to_owned(),
                limit: MAX_CERTIFICATE_FILE,
            });
        }
        if is_der_sequence(&bytes) {
            return Ok(Self::of_der(&bytes));
        }
        match CertificateDer::from_pem_slice(&bytes) {
            Ok(der) => Ok(Self::of_der(&der)),
            Err(pem::Error::NoItemsFound) => Err(CertificateFileError::NoCertificate {
                path: path.to_owned(),
            }),
            Err(source) => Err(CertificateFileError::Pem {
                path: path.to_owned(),
                source,
            }),
        }
    }
}

/// Whether `bytes` are one DER SEQUENCE spanning exactly the whole input, as a certificate is.
fn is_der_sequence(bytes: &[u8]) -> bool {
    let [0x30, first, rest @ ..] = bytes else {
        return false;
    };
    let (length, body) = if *first < 0x80 {
        (usize::from(*first), rest)
    } else {
        // At most 4 length bytes, so the length cannot overflow even a 32-bit usize.
        let count = usize::from(first & 0x7f);
        if count == 0 || count > 4 || rest.len() < count {
            return false;
        }
        let (length_bytes, body) = rest.split_at(count);
        let length = length_bytes
            .iter()
            .fold(0usize, |length, &byte| (length << 8) | usize::from(byte));
        (length, body)
    };
    body.len() == length
}

impl fmt::Display for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("sha256:")?;
        self.0.iter().try_for_each(|byte| write!(f, "{byte:02x}"))
    }
}

impl fmt::Debug for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Fingerprint({self})")
    }
}

impl FromStr for Fingerprint {
    type Err = PinError;

    fn from_str(text: &str) -> Result<Self, PinError> {
        let text = text.trim();
        let hex = match text.split_once(':') {
            Some((algorithm, rest)) if algorithm.eq_ignore_ascii_case("sha256") => rest,
            // A first group that is not hex names an algorithm (say `sha1:`), not a byte.
            Some((algorithm, _)) if !algorithm.bytes().all(|byte| byte.is_ascii_hexdigit()) => {
                return Err(PinError::UnsupportedAlgorithm(algorithm.to_owned()));
            }
            _ => text,
        };
        if hex.is_empty() {
            return Err(PinError::Empty);
        }
        // Hex digits as 4-bit values; checking characters first names the odd one out.
        let nibbles = hex
            .chars()
            .filter(|&c| c != ':')
            .map(|c| {
                c.to_digit(16)
                    .map(|n| n as u8)
                    .ok_or(PinError::InvalidCharacter(c))
            })
            .collect::<Result<Vec<u8>, _>>()?;
        if hex.contains(':') && hex.split(':').any(|pair| pair.len() != 2) {
            return Err(PinError::MisplacedSeparator);
        }
        if nibbles.len() != 64 {
            return Err(PinError::WrongLength(nibbles.len()));
        }
        let mut bytes = [0; 32];
        for (byte, pair) in bytes.iter_mut().zip(nibbles.chunks_exact(2)) {
            *byte = (pair[0] << 4) | pair[1];
        }
        Ok(Self(bytes))
    }
}

/// Why a certificate pin's text is not a SHA-256 fingerprint.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PinError {
    #[error("the certificate pin is empty")]
    Empty,
    #[error("certificate pin uses the {0:?} algorithm; only sha256 is supported")]
    UnsupportedAlgorithm(String),
    #[error(
        "certificate pin holds {0:?}; expected hex digits, optionally separated by ':' into pairs"
    )]
    InvalidCharacter(char),
    #[error(
        "certificate pin has a misplaced ':'; separators must split it into pairs of hex digits"
    )]
    MisplacedSeparator,
    #[error("certificate pin has {0} hex digits; a SHA-256 fingerprint has 64")]
    WrongLength(usize),
}

/// Why the fingerprint of a certificate file could not be computed.
#[derive(Debug, thiserror::Error)]
pub enum CertificateFileError {
    #[error("cannot read certificate file {}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("{} is larger than {limit} bytes: not a certificate file", path.display())]
    TooLarge { path: PathBuf, limit: u64 },
    #[error("{} is not valid PEM", path.display())]
    Pem {
        path: PathBuf,
        #[source]
        source: pem::Error,
    },
    #[error("{} holds neither a PEM certificate nor a DER certificate", path.display())]
    NoCertificate { path: PathBuf },
}

/// Why a TLS client configuration could not be built.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("cannot load the platform's trusted root certificates")]
    PlatformRoots(#[source] rustls::Error),
    #[error("the ring provider cannot speak TLS 1.2 or 1.3")]
    ProtocolVersions(#[source] rustls::Error),
    #[error("CA bundle {}: {problem}", path.display())]
    CaBundle { path: PathBuf, problem: String },
}

/// A rustls client configuration for `policy`: ring provider, TLS 1.2 and 1.3, ALPN `http/1.1`
/// only (every Lifeboat client speaks HTTP/1.1), no client certificate.
pub fn client_config(policy: &TlsPolicy) -> Result<ClientConfig, TlsError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let algorithms = provider.signature_verification_algorithms;
    let builder = ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(TlsError::ProtocolVersions)?
        .dangerous();
    let verifier: Arc<dyn ServerCertVerifier> = match policy {
        TlsPolicy::SystemRoots => Arc::new(
            rustls_platform_verifier::Verifier::new(provider).map_err(TlsError::PlatformRoots)?,
        ),
        TlsPolicy::CaBundle(path) => Arc::new(
            rustls_platform_verifier::Verifier::new_with_extra_roots(read_bundle(path)?, provider)
                .map_err(|error| TlsError::CaBundle {
                    path: path.clone(),
                    problem: error.to_string(),
                })?,
        ),
        TlsPolicy::Pinned(pin) => Arc::new(WithoutChain {
            pin: Some(*pin),
            algorithms,
        }),
        TlsPolicy::Insecure => Arc::new(WithoutChain {
            pin: None,
            algorithms,
        }),
    };
    let mut config = builder
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(config)
}

/// `builder` with TLS configured for `policy` (see [`client_config`]).
///
/// reqwest recognises the configuration only if it uses the same rustls as this crate, which the
/// workspace's single rustls version guarantees; otherwise `build` fails rather than falling back.
pub fn apply(
    builder: reqwest::ClientBuilder,
    policy: &TlsPolicy,
) -> Result<reqwest::ClientBuilder, TlsError> {
    Ok(builder.tls_backend_preconfigured(client_config(policy)?))
}

/// The certificates of the PEM bundle at `path`: at least one, and a file of bounded size.
fn read_bundle(path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let problem = |problem: String| TlsError::CaBundle {
        path: path.to_owned(),
        problem,
    };
    let size = fs::metadata(path)
        .map_err(|error| problem(error.to_string()))?
        .len();
    if size > MAX_BUNDLE {
        return Err(problem(format!(
            "larger than {MAX_BUNDLE} bytes: not a CA bundle"
        )));
    }
    let pem = fs::read(path).map_err(|error| problem(error.to_string()))?;
    let roots = CertificateDer::pem_slice_iter(&pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|error| problem(error.to_string()))?;
    if roots.is_empty() {
        return Err(problem("holds no PEM certificate".to_owned()));
    }
    Ok(roots)
}

/// Accepts the server's certificate without a chain of trust: the pinned one, or any when there
/// is no pin (`TlsPolicy::Insecure`). Handshake signatures are verified as usual.
#[derive(Debug)]
struct WithoutChain {
    pin: Option<Fingerprint>,
    algorithms: WebPkiSupportedAlgorithms,
}

impl ServerCertVerifier for WithoutChain {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        if let Some(pinned) = self.pin {
            let presented = Fingerprint::of_der(end_entity);
            if presented != pinned {
                let mismatch = PinMismatch { presented, pinned };
                return Err(CertificateError::Other(OtherError(Arc::new(mismatch))).into());
            }
        }
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

/// The server presented another certificate than the pinned one.
#[derive(thiserror::Error)]
#[error("server certificate {presented} does not match the pinned certificate {pinned}")]
struct PinMismatch {
    presented: Fingerprint,
    pinned: Fingerprint,
}

// rustls shows a certificate error's cause with `Debug`, and that text reaches the user.
impl fmt::Debug for PinMismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}
