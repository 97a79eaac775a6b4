//! Microversions as the simulated services read them: `OpenStack-API-Version: volume 3.64`,
//! Nova's legacy `X-OpenStack-Nova-API-Version: 2.61`, `latest`, and the range each service
//! accepts. The version itself is the client's type: both sides compare versions alike.

use http::HeaderMap;
pub use lifeboat_cloud::microversion::Microversion;

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
        let version: Microversion = asked
            .parse()
            .map_err(|_| format!("Invalid API version request string {asked:?}."))?;
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
