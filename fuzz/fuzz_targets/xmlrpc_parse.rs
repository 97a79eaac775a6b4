//! Fuzzes the XML-RPC parser (method calls, responses, bare values as in XVA's ova.xml) and
//! checks that whatever parses survives a round trip through the encoder.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    lifeboat_formats::fuzzing::parse_xmlrpc(data);
});
