//! The little of Neutron a DR restore needs: networks (a project's or shared) that hand out
//! fixed IPv4 addresses, and security groups by name.

use std::net::Ipv4Addr;

#[derive(Debug, Clone)]
pub struct Network {
    pub id: String,
    pub name: String,
    /// `None` for a shared network.
    pub project_id: Option<String>,
    pub prefix: (Ipv4Addr, u8),
    /// Addresses handed out so far, the next one follows.
    pub allocated: u32,
}

impl Network {
    pub fn visible_to(&self, project_id: &str) -> bool {
        self.project_id.as_deref().is_none_or(|p| p == project_id)
    }

    /// The next free address: hosts from `.2` on (`.1` is the router), `None` when the prefix is
    /// exhausted.
    pub fn allocate(&mut self) -> Option<Ipv4Addr> {
        let (base, length) = self.prefix;
        let hosts = (1u64 << (32 - u32::from(length))) - 3;
        if u64::from(self.allocated) >= hosts {
            return None;
        }
        self.allocated += 1;
        Some(Ipv4Addr::from(u32::from(base) + 1 + self.allocated))
    }
}

#[derive(Debug, Clone)]
pub struct SecurityGroup {
    pub id: String,
    pub name: String,
    pub project_id: String,
    pub description: String,
}

/// Parses `10.0.0.0/24` (a prefix of /8 to /30) into its network address and length.
pub fn parse_cidr(text: &str) -> Option<(Ipv4Addr, u8)> {
    let (address, length) = text.split_once('/')?;
    let address: Ipv4Addr = address.parse().ok()?;
    let length: u8 = length.parse().ok()?;
    if !(8..=30).contains(&length) {
        return None;
    }
    let mask = u32::MAX << (32 - u32::from(length));
    Some((Ipv4Addr::from(u32::from(address) & mask), length))
}

/// A MAC address in OpenStack's `fa:16:3e` range.
pub fn random_mac() -> String {
    let bytes: [u8; 3] = rand::random();
    format!(
        "fa:16:3e:{:02x}:{:02x}:{:02x}",
        bytes[0], bytes[1], bytes[2]
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_come_from_the_prefix_until_it_is_full() {
        let mut network = Network {
            id: "n".into(),
            name: "n".into(),
            project_id: None,
            prefix: parse_cidr("192.168.7.9/30").unwrap(),
            allocated: 0,
        };
        assert_eq!(network.prefix.0, Ipv4Addr::new(192, 168, 7, 8));
        assert_eq!(network.allocate(), Some(Ipv4Addr::new(192, 168, 7, 10)));
        assert_eq!(network.allocate(), None);
        assert!(parse_cidr("10.0.0.0/31").is_none());
        assert!(parse_cidr("10.0.0/24").is_none());
    }
}
