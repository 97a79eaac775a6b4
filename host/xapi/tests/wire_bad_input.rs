//! Bad input for the wire decoders: truncated, corrupted and hostile bodies in both encodings give
//! typed errors, never a panic, and whatever decodes survives a round trip.

use lifeboat_xapi::wire::{fuzzing::decode_bodies, json, xml};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

const SAMPLES: &[&[u8]] = &[
    br#"{"jsonrpc":"2.0","method":"VM.get_all_records","params":["OpaqueRef:s"],"id":7}"#,
    br#"{"method":"session.login_with_password","params":["root","pw","1.0","x"],"id":"a"}"#,
    br#"{"jsonrpc":"2.0","result":{"OpaqueRef:1":{"name_label":"web","VCPUs_max":"2","tags":["a"]}},"id":1}"#,
    br#"{"jsonrpc":"2.0","error":{"code":1,"message":"HANDLE_INVALID","data":["VM","OpaqueRef:x"]},"id":1}"#,
    b"<?xml version=\"1.0\"?><methodCall><methodName>VM.snapshot</methodName><params><param><value>OpaqueRef:s</value></param><param><value><array><data><value><i4>1</i4></value><value><boolean>1</boolean></value></data></array></value></param></params></methodCall>",
    b"<methodResponse><params><param><value><struct><member><name>Status</name><value>Success</value></member><member><name>Value</name><value><struct><member><name>t</name><value><dateTime.iso8601>20260101T00:00:00Z</dateTime.iso8601></value></member><member><name>d</name><value><double>1.5</double></value></member></struct></value></member></struct></value></param></params></methodResponse>",
    b"<methodResponse><params><param><value><struct><member><name>Status</name><value>Failure</value></member><member><name>ErrorDescription</name><value><array><data><value>SESSION_INVALID</value><value>OpaqueRef:s</value></data></array></value></member></struct></value></param></params></methodResponse>",
];

#[test]
fn samples_decode() {
    assert!(json::Request::parse(SAMPLES[0]).is_ok());
    assert!(json::Request::parse(SAMPLES[1]).is_ok());
    assert!(json::decode_response(SAMPLES[2]).unwrap().is_ok());
    assert!(json::decode_response(SAMPLES[3]).unwrap().is_err());
    assert!(xml::decode_call(SAMPLES[4]).is_ok());
    assert!(xml::decode_response(SAMPLES[5]).unwrap().is_ok());
    assert!(xml::decode_response(SAMPLES[6]).unwrap().is_err());
    for sample in SAMPLES {
        decode_bodies(sample);
    }
}

#[test]
fn hostile_bodies_are_refused() {
    let deep_json = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    let deep_xml = format!(
        "<methodCall><methodName>x</methodName><params><param>{}{}</param></params></methodCall>",
        "<value><array><data>".repeat(50_000),
        "</data></array></value>".repeat(50_000)
    );
    let cases: Vec<Vec<u8>> = vec![
        Vec::new(),
        b"null".to_vec(),
        br#"{"method":"x","params":[]}"#.to_vec(),
        br#"{"method":1,"params":[],"id":1}"#.to_vec(),
        deep_json.into_bytes(),
        deep_xml.into_bytes(),
        b"<methodCall><methodName>x</methodName><params><param><value><i4>99999999999</i4></value></param></params></methodCall>".to_vec(),
        b"<!DOCTYPE x [<!ENTITY a \"aaaa\">]><methodCall><methodName>&a;</methodName></methodCall>".to_vec(),
        vec![0xFF; 64],
    ];
    for case in &cases {
        decode_bodies(case);
        lifeboat_formats::fuzzing::parse_xmlrpc(case);
    }
    assert!(json::Request::parse(&cases[2]).is_err(), "a notification");
    assert!(
        json::Request::parse(&cases[3]).is_err(),
        "a method that is not a string"
    );
    // rpclib reads <i4> as a 64-bit integer, as xapi does: a wide value is not refused.
    assert!(xml::decode_call(&cases[6]).is_ok());
}

#[test]
fn mutated_bodies_never_panic() {
    let mut rng = StdRng::seed_from_u64(0x5EED);
    for _ in 0..20_000 {
        let mut body = SAMPLES[rng.random_range(0..SAMPLES.len())].to_vec();
        for _ in 0..rng.random_range(1..6) {
            if body.is_empty() {
                break;
            }
            let at = rng.random_range(0..body.len());
            match rng.random_range(0..4) {
                0 => body[at] = rng.random(),
                1 => {
                    body.remove(at);
                }
                2 => body.insert(at, b"<>{}[]\",:/&;0"[rng.random_range(0..13)]),
                _ => body.truncate(at.max(1)),
            }
        }
        decode_bodies(&body);
        lifeboat_formats::fuzzing::parse_xmlrpc(&body);
    }
}
