//! Entry point for the fuzz target of the wire decoders (`fuzz/fuzz_targets/xapi_wire.rs`) and
//! for the bad-input tests: every decoder of request and response bodies, in both encodings, on
//! arbitrary bytes. A panic, a hang or an unbounded allocation is a bug; whatever decodes must
//! re-encode to a body that decodes to the same thing.

use super::{json, xml};

/// Runs every wire decoder on `data`.
pub fn decode_bodies(data: &[u8]) {
    if let Ok(request) = json::Request::parse(data) {
        let encoded = request.to_json();
        let again = json::Request::parse(&encoded).expect("an encoded request decodes");
        assert_eq!(
            again.to_json(),
            encoded,
            "a JSON request survives a round trip"
        );
    }
    if let Ok(outcome) = json::decode_response(data) {
        let encoded = json::encode_response(json::Version::V2, &serde_json::json!(1), &outcome);
        let again = json::decode_response(&encoded).expect("an encoded response decodes");
        assert_eq!(
            json::encode_response(json::Version::V2, &serde_json::json!(1), &again),
            encoded,
            "a JSON response survives a round trip"
        );
    }
    if let Ok(call) = xml::decode_call(data) {
        let encoded = xml::encode_call(&call);
        let again = xml::decode_call(&encoded).expect("an encoded call decodes");
        assert_eq!(
            xml::encode_call(&again),
            encoded,
            "an XML call survives a round trip"
        );
    }
    if let Ok(outcome) = xml::decode_response(data) {
        let encoded = xml::encode_response(&outcome);
        let again = xml::decode_response(&encoded).expect("an encoded response decodes");
        assert_eq!(
            xml::encode_response(&again),
            encoded,
            "an XML response survives a round trip"
        );
    }
}
