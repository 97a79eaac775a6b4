//! Microversions as the simulated services parse them: `OpenStack-API-Version: volume 3.64`,
//! Nova's legacy `X-OpenStack-Nova-API-Version: 2.61`, `latest`, and the range each service
//! accepts.

use std::fmt;

use http::HeaderMap;

/// A `MAJOR.MINOR` microversion, ordered numerically (3.9 < 3.10).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Microversion {
    pub major: u32,
    pub minor: u32,
}

impl Microversion {
    pub const fn new(major: u32, minor: u32) -> Self {
        Microversion { major, minor }
    }

    /// Parses `3.64`; `None` for anything else.
    pub fn parse(text: &str) -> Option<Microversion> {
        let (major, minor) = text.trim().split_once('.')?;
        let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
        if !digits(major) || !digits(minor) {
            return None;
        }
        Some(Microversion::new(major.parse().ok()?, minor.parse().ok()?))
    }
}

impl fmt::Display for Microversion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.major, self.minor)
    }
}

/// The versions a service accepts, and the name it goes by in `OpenStack-API-Version`.
#[derive(Debug, Clone, Copy)]
pub struct VersionRange {
    pub service: &'static str,
    pub min: Microversion,
    pub max: Microversion,
}

impl VersionRange {
    /// The version a request asks for: the header's, `latest` as the maximum, none as the
    /// minimum. An unparsable or out-of-range version is the 406 message.
    pub fn requested(&self, headers: &HeaderMap) -> Result<Microversion, String> {
        let mut asked = None;
        for value in headers.get_all("openstack-api-version") {
            let Ok(value) = value.to_str() else { continue };
            for item in value.split(',') {
                let mut words = item.split_whitespace();
                if words
                    .next()
                    .is_some_and(|s| s.eq_ignore_ascii_case(self.service))
                {
                    asked = words.next().map(str::to_owned);
                }
            }
        }
        if asked.is_none() && self.service == "compute" {
            asked = headers
                .get("x-openstack-nova-api-version")
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned);
        }
        let Some(asked) = asked else {
            return Ok(self.min);
        };
        if asked.trim().eq_ignore_ascii_case("latest") {
            return Ok(self.max);
        }
        let version = Microversion::parse(&asked)
            .ok_or_else(|| format!("Invalid API version request string {asked:?}."))?;
        if version < self.min || version > self.max {
            return Err(format!(
                "Version {version} is not supported by the API. Minimum is {} and maximum is {}.",
                self.min, self.max
            ));
        }
        Ok(version)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(*name, value.parse().unwrap());
        }
        map
    }

    const VOLUME: VersionRange = VersionRange {
        service: "volume",
        min: Microversion::new(3, 0),
        max: Microversion::new(3, 71),
    };

    #[test]
    fn parses_compares_and_bounds() {
        assert!(Microversion::new(3, 9) < Microversion::new(3, 10));
        assert_eq!(VOLUME.requested(&headers(&[])), Ok(Microversion::new(3, 0)));
        let asked = headers(&[("OpenStack-API-Version", "volume 3.64")]);
        assert_eq!(VOLUME.requested(&asked), Ok(Microversion::new(3, 64)));
        let latest = headers(&[("OpenStack-API-Version", "volume latest")]);
        assert_eq!(VOLUME.requested(&latest), Ok(Microversion::new(3, 71)));
        let other = headers(&[("OpenStack-API-Version", "compute 2.61")]);
        assert_eq!(VOLUME.requested(&other), Ok(Microversion::new(3, 0)));
        assert!(
            VOLUME
                .requested(&headers(&[("OpenStack-API-Version", "volume 3.72")]))
                .is_err()
        );
        assert!(
            VOLUME
                .requested(&headers(&[("OpenStack-API-Version", "volume x")]))
                .is_err()
        );
        let legacy = headers(&[("X-OpenStack-Nova-API-Version", "2.61")]);
        let compute = VersionRange {
            service: "compute",
            min: Microversion::new(2, 1),
            max: Microversion::new(2, 96),
        };
        assert_eq!(compute.requested(&legacy), Ok(Microversion::new(2, 61)));
    }
}
