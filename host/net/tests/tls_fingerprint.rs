//! Certificate pins: the text forms users paste, and fingerprints of certificate files.

use std::path::Path;

use lifeboat_net::tls::{CertificateFileError, Fingerprint, PinError, TlsPolicy, client_config};

/// SHA-256 of the empty input: a known vector that fixes the byte order of the hex form.
const EMPTY_SHA256: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

fn colons(hex: &str) -> String {
    let pairs: Vec<&str> = (0..hex.len() / 2).map(|i| &hex[2 * i..2 * i + 2]).collect();
    pairs.join(":")
}

#[test]
fn a_pin_is_displayed_as_sha256_and_lowercase_hex_and_parses_back() {
    let pin = Fingerprint::of_der(b"");
    assert_eq!(pin.to_string(), format!("sha256:{EMPTY_SHA256}"));
    assert_eq!(pin.to_string().parse::<Fingerprint>(), Ok(pin));
    assert_eq!(
        TlsPolicy::Pinned(pin).to_string(),
        format!("pinned certificate sha256:{EMPTY_SHA256}")
    );
}

#[test]
fn pins_parse_from_the_common_text_forms() {
    let pin = Fingerprint::of_der(b"");
    let upper = EMPTY_SHA256.to_uppercase();
    let forms = [
        EMPTY_SHA256.to_owned(),
        upper.clone(),
        colons(EMPTY_SHA256),
        colons(&upper),
        format!("sha256:{EMPTY_SHA256}"),
        format!("SHA256:{}", colons(&upper)),
        format!("Sha256:{}", colons(EMPTY_SHA256)),
        format!("  sha256:{EMPTY_SHA256}\n"),
    ];
    for form in forms {
        assert_eq!(form.parse::<Fingerprint>(), Ok(pin), "{form:?}");
    }
}

#[test]
fn bad_pins_say_what_is_wrong() {
    let cases = [
        ("", PinError::Empty),
        ("  ", PinError::Empty),
        ("sha256:", PinError::Empty),
        (
            &format!("sha1:{}", &EMPTY_SHA256[..40]),
            PinError::UnsupportedAlgorithm("sha1".to_owned()),
        ),
        (&EMPTY_SHA256[..63], PinError::WrongLength(63)),
        (&format!("{EMPTY_SHA256}00"), PinError::WrongLength(66)),
        (&EMPTY_SHA256[..40], PinError::WrongLength(40)),
        (
            &format!("g{}", &EMPTY_SHA256[1..]),
            PinError::InvalidCharacter('g'),
        ),
        (
            &format!("{} {}", &EMPTY_SHA256[..32], &EMPTY_SHA256[32..]),
            PinError::InvalidCharacter(' '),
        ),
        (
            &format!("{}é", &EMPTY_SHA256[..63]),
            PinError::InvalidCharacter('é'),
        ),
        (
            &format!("e3b:{}", &EMPTY_SHA256[3..]),
            PinError::MisplacedSeparator,
        ),
        (
            &format!("{}:", colons(EMPTY_SHA256)),
            PinError::MisplacedSeparator,
        ),
        (
            &format!("sha256::{}", colons(EMPTY_SHA256)),
            PinError::MisplacedSeparator,
        ),
        (&colons(&EMPTY_SHA256[..62]), PinError::WrongLength(62)),
    ];
    for (text, expected) in cases {
        assert_eq!(text.parse::<Fingerprint>(), Err(expected), "{text:?}");
    }
    let message = "sha1:00".parse::<Fingerprint>().unwrap_err().to_string();
    assert!(
        message.contains("sha1") && message.contains("sha256"),
        "{message}"
    );
    let message = EMPTY_SHA256[..40]
        .parse::<Fingerprint>()
        .unwrap_err()
        .to_string();
    assert!(
        message.contains("40") && message.contains("64"),
        "{message}"
    );
}

#[test]
fn the_fingerprint_of_a_certificate_file_is_that_of_its_der_certificate() {
    let host = rcgen::generate_simple_self_signed(vec!["xcp-ng.lifeboat.test".to_owned()]).unwrap();
    let other = rcgen::generate_simple_self_signed(vec!["other.lifeboat.test".to_owned()]).unwrap();
    let expected = Fingerprint::of_der(host.cert.der());
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, bytes: &[u8]| {
        let path = dir.path().join(name);
        std::fs::write(&path, bytes).unwrap();
        path
    };

    let pem = write("host.pem", host.cert.pem().as_bytes());
    assert_eq!(Fingerprint::of_file(&pem).unwrap(), expected);
    let der = write("host.der", host.cert.der());
    assert_eq!(Fingerprint::of_file(&der).unwrap(), expected);
    // XCP-ng's xapi-ssl.pem holds the private key before the certificate; a chain lists the
    // host's certificate first.
    let xapi_ssl = format!(
        "{}{}{}",
        host.signing_key.serialize_pem(),
        host.cert.pem(),
        other.cert.pem()
    );
    let xapi_ssl = write("xapi-ssl.pem", xapi_ssl.as_bytes());
    assert_eq!(Fingerprint::of_file(&xapi_ssl).unwrap(), expected);
}

#[test]
fn files_without_a_certificate_are_refused() {
    let host = rcgen::generate_simple_self_signed(vec!["xcp-ng.lifeboat.test".to_owned()]).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, bytes: &[u8]| {
        let path = dir.path().join(name);
        std::fs::write(&path, bytes).unwrap();
        path
    };
    let no_certificate = |path: &Path| {
        matches!(
            Fingerprint::of_file(path),
            Err(CertificateFileError::NoCertificate { .. })
        )
    };

    assert!(no_certificate(&write(
        "key.pem",
        host.signing_key.serialize_pem().as_bytes()
    )));
    assert!(no_certificate(&write("empty", b"")));
    assert!(no_certificate(&write("text", b"not a certificate\n")));
    let der = host.cert.der();
    assert!(no_certificate(&write(
        "truncated.der",
        &der[..der.len() - 1]
    )));
    let mut longer = der.to_vec();
    longer.push(0);
    assert!(no_certificate(&write("trailing.der", &longer)));

    let broken = "-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----\n";
    let broken = write("broken.pem", broken.as_bytes());
    let error = Fingerprint::of_file(&broken).unwrap_err();
    assert!(
        matches!(error, CertificateFileError::Pem { .. }),
        "{error:?}"
    );
    assert!(error.to_string().contains("broken.pem"), "{error}");

    let huge = write("disk.img", &vec![0; (1 << 20) + 1]);
    let error = Fingerprint::of_file(&huge).unwrap_err();
    assert!(
        matches!(error, CertificateFileError::TooLarge { .. }),
        "{error:?}"
    );

    let missing = dir.path().join("missing.pem");
    let error = Fingerprint::of_file(&missing).unwrap_err();
    assert!(
        matches!(error, CertificateFileError::Read { .. }),
        "{error:?}"
    );
    assert!(error.to_string().contains("missing.pem"), "{error}");
}

#[test]
fn every_policy_offers_only_http_1_1() {
    let pin = Fingerprint::of_der(b"");
    for policy in [
        TlsPolicy::SystemRoots,
        TlsPolicy::Pinned(pin),
        TlsPolicy::Insecure,
    ] {
        let config = client_config(&policy).unwrap();
        assert_eq!(config.alpn_protocols, [b"http/1.1".to_vec()], "{policy}");
    }
}
