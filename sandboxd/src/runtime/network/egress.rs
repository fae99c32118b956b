//! Per-sandbox egress rules, E2B's `allowOut`/`denyOut`: which IPv4 destinations a sandbox may
//! open connections to through its uplink.
//!
//! Each linked sandbox has its own chain, `sandboxd-<instance>-<slot>`, jumped to from the
//! instance chain for packets that arrive from its host-side veth (so a sandbox cannot dodge its
//! rules by changing its own address). The chain holds `RETURN` for every allowed block first
//! and `REJECT` for every denied one after, which gives E2B's precedence (allow over deny;
//! anything unlisted is allowed) and lets the instance chain's own drops (other sandboxes, the
//! host) still apply to allowed traffic. A change is one `iptables-restore` batch that
//! re-declares (so flushes) the chain and refills it, so it takes effect atomically, for
//! established connections too.

use std::net::Ipv4Addr;

use anyhow::Context;
use ipnet::Ipv4Net;

use super::{Network, Uplink, iptables_restore};

/// E2B's `ALL_TRAFFIC`.
pub const ALL_TRAFFIC: &str = "0.0.0.0/0";

/// Validated egress rules of one sandbox.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EgressRules {
    allow: Vec<Ipv4Net>,
    deny: Vec<Ipv4Net>,
}

impl EgressRules {
    /// Parses `allowOut` and `denyOut` entries: IPv4 addresses and CIDR blocks. The error says
    /// which entry is wrong and why, for a 400.
    pub fn parse(allow_out: &[String], deny_out: &[String]) -> Result<EgressRules, String> {
        Ok(EgressRules {
            allow: parse_list("allowOut", allow_out)?,
            deny: parse_list("denyOut", deny_out)?,
        })
    }

    /// Whether any destination at all is reachable under these rules.
    pub fn allows_anything(&self) -> bool {
        !self.allow.is_empty() || !self.deny.iter().any(|n| n.prefix_len() == 0)
    }

    /// The chain's rules as `iptables-restore` lines.
    fn chain_rules(&self, chain: &str) -> String {
        let allow = self
            .allow
            .iter()
            .map(|net| format!("-A {chain} -d {net} -j RETURN\n"));
        let deny = self.deny.iter().map(|net| {
            format!("-A {chain} -d {net} -j REJECT --reject-with icmp-admin-prohibited\n")
        });
        allow.chain(deny).collect()
    }
}

fn parse_list(field: &str, entries: &[String]) -> Result<Vec<Ipv4Net>, String> {
    entries
        .iter()
        .map(|entry| parse_destination(field, entry))
        .collect()
}

fn parse_destination(field: &str, entry: &str) -> Result<Ipv4Net, String> {
    let entry = entry.trim();
    if let Ok(net) = entry.parse::<Ipv4Net>() {
        return Ok(net.trunc());
    }
    if let Ok(addr) = entry.parse::<Ipv4Addr>() {
        return Ok(Ipv4Net::from(addr));
    }
    if entry.contains(':') {
        return Err(format!(
            "{field} entry {entry:?}: IPv6 rules are not supported by sandboxd (sandboxes have \
             IPv4 egress only)"
        ));
    }
    let looks_like_domain = entry.bytes().any(|b| b.is_ascii_alphabetic())
        && entry
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-.*".contains(&b));
    if looks_like_domain {
        return Err(format!(
            "{field} entry {entry:?}: domain rules are not supported by sandboxd; use IPv4 \
             addresses or CIDR blocks"
        ));
    }
    Err(format!(
        "{field} entry {entry:?} is not an IPv4 address or CIDR block (e.g. \"8.8.8.8\" or \
         \"10.0.0.0/8\")"
    ))
}

impl Network {
    fn egress_chain(&self, uplink: &Uplink) -> String {
        format!("{}-{:x}", self.chain(), uplink.slot)
    }

    /// Creates the uplink's egress chain with `rules` and hooks it into the instance chain.
    pub(super) fn install_egress(
        &self,
        uplink: &Uplink,
        rules: &EgressRules,
    ) -> anyhow::Result<()> {
        let (chain, instance_chain) = (self.egress_chain(uplink), self.chain());
        let script = format!(
            "*filter\n:{chain} - [0:0]\n{}-I {instance_chain} 1 -i {} -j {chain}\nCOMMIT\n",
            rules.chain_rules(&chain),
            uplink.host_if
        );
        iptables_restore(&script).context("installing the sandbox's egress rules")
    }

    /// Replaces the rules of a linked sandbox's egress chain, atomically.
    pub fn update_egress(&self, uplink: &Uplink, rules: &EgressRules) -> anyhow::Result<()> {
        let chain = self.egress_chain(uplink);
        let script = format!(
            "*filter\n:{chain} - [0:0]\n{}COMMIT\n",
            rules.chain_rules(&chain)
        );
        iptables_restore(&script).context("updating the sandbox's egress rules")
    }

    /// Unhooks and deletes the uplink's egress chain (if it was installed).
    pub(super) fn remove_egress(&self, uplink: &Uplink) {
        let (chain, instance_chain) = (self.egress_chain(uplink), self.chain());
        let script = format!(
            "*filter\n-D {instance_chain} -i {} -j {chain}\n-F {chain}\n-X {chain}\nCOMMIT\n",
            uplink.host_if
        );
        // Absent when the link failed before its rules went in; nothing to undo then.
        let _ = iptables_restore(&script);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules(allow: &[&str], deny: &[&str]) -> Result<EgressRules, String> {
        let owned = |list: &[&str]| list.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        EgressRules::parse(&owned(allow), &owned(deny))
    }

    #[test]
    fn addresses_and_blocks_become_networks_with_allow_first() {
        let parsed = rules(&["10.199.3.7", "192.168.1.9/24"], &[ALL_TRAFFIC]).unwrap();
        assert_eq!(
            parsed.chain_rules("c"),
            "-A c -d 10.199.3.7/32 -j RETURN\n\
             -A c -d 192.168.1.0/24 -j RETURN\n\
             -A c -d 0.0.0.0/0 -j REJECT --reject-with icmp-admin-prohibited\n"
        );
        assert!(parsed.allows_anything());
        assert!(!rules(&[], &[ALL_TRAFFIC]).unwrap().allows_anything());
        assert!(rules(&[], &["10.0.0.0/8"]).unwrap().allows_anything());
        assert!(EgressRules::default().allows_anything());
    }

    #[test]
    fn domains_ipv6_and_garbage_are_refused_with_a_reason() {
        let domain = rules(&["example.com"], &[]).unwrap_err();
        assert!(
            domain.contains("domain rules are not supported by sandboxd"),
            "{domain}"
        );
        let wildcard = rules(&["*.example.com"], &[]).unwrap_err();
        assert!(wildcard.contains("domain rules"), "{wildcard}");
        let v6 = rules(&[], &["::/0"]).unwrap_err();
        assert!(v6.contains("IPv6"), "{v6}");
        let bad = rules(&[], &["10.0.0.0/33"]).unwrap_err();
        assert!(
            bad.starts_with("denyOut entry \"10.0.0.0/33\" is not an IPv4"),
            "{bad}"
        );
        assert!(rules(&["1.2.3.4 -j ACCEPT"], &[]).is_err());
    }
}
