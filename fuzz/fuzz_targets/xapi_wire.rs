//! Fuzzes xapi's wire decoders: JSON-RPC requests and responses, XML-RPC calls and responses with
//! their `Status`/`Value`/`ErrorDescription` envelope; whatever decodes must round-trip.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    lifeboat_xapi::wire::fuzzing::decode_bodies(data);
});
