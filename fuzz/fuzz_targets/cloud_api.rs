//! Fuzzes the cloud simulator's request handling: any method, path, microversion and body sent
//! to a cloud of the example fixture, with a valid administrator's token, gets an answer — never
//! a panic — and every refusal is a 4xx (or the 503 of an absent backup service), not a 5xx.
//!
//! Input: `METHOD PATH\nMICROVERSION\nBODY`.
#![no_main]

use std::sync::OnceLock;

use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Method, Uri};
use libfuzzer_sys::fuzz_target;
use lifeboat_sim::cloud::{Cloud, CloudFixture};

struct Target {
    cloud: Cloud,
    token: HeaderValue,
}

fn target() -> &'static Target {
    static TARGET: OnceLock<Target> = OnceLock::new();
    TARGET.get_or_init(|| {
        let cloud = Cloud::offline(&CloudFixture::builtin(), "east").expect("east exists");
        let login = br#"{"auth": {"identity": {"methods": ["password"], "password": {"user": {
            "name": "admin", "domain": {"name": "Default"}, "password": "east-admin-secret"}}},
            "scope": {"project": {"name": "production", "domain": {"name": "Default"}}}}}"#;
        let answer = cloud.answer(
            Method::POST,
            &Uri::from_static("/identity/v3/auth/tokens"),
            HeaderMap::new(),
            Bytes::from_static(login),
        );
        let token = answer.headers()["x-subject-token"].clone();
        Target { cloud, token }
    })
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let mut lines = text.splitn(3, '\n');
    let (Some(request), Some(version)) = (lines.next(), lines.next()) else {
        return;
    };
    let body = lines.next().unwrap_or_default().as_bytes().to_vec();
    let Some((method, path)) = request.split_once(' ') else {
        return;
    };
    let (Ok(method), Ok(uri)) = (Method::from_bytes(method.as_bytes()), path.parse::<Uri>()) else {
        return;
    };
    let target = target();
    let mut headers = HeaderMap::new();
    headers.insert("x-auth-token", target.token.clone());
    if let Ok(version) = HeaderValue::from_str(version) {
        headers.insert("openstack-api-version", version);
    }
    let answer = target.cloud.answer(method, &uri, headers, Bytes::from(body));
    let status = answer.status().as_u16();
    assert!(status < 500 || status == 503, "{status} for {request}");
});
