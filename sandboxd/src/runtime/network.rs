//! Sandbox networking: loopback in every sandbox's own network namespace, and for sandboxes with
//! internet access a veth pair to the host plus NAT.
//!
//! Each runtime instance claims one address block (a /21 of 10.200.0.0/13) machine-wide through
//! a lock file, so concurrent sandboxd instances never share addresses; a sandbox gets one /30
//! of it (host end `.1`, sandbox end `.2`, default route via the host end). One iptables chain
//! per instance (`sandboxd-<instance>`, also the comment on its jump rules) accepts the block's
//! outbound traffic and its replies, drops traffic to any sandbox block (sandboxes cannot reach
//! each other) and to the host itself, and a MASQUERADE rule NATs it. Host interface names are
//! `sb-<instance>-<slot>`, so crash cleanup removes exactly this instance's leftovers. Each
//! link's own egress rules live in a chain of their own ([`egress`]).

mod egress;

use std::fs::{self, File};
use std::io::Write;
use std::net::Ipv4Addr;
use std::os::fd::{AsRawFd, OwnedFd};
use std::process::{Command, Stdio};
use std::sync::Mutex;

use anyhow::{Context, bail};

use super::layout::HOST_LOCK_DIR;
pub use egress::{ALL_TRAFFIC, EgressRules};

/// A range of IPv4 space split into equal blocks that processes claim with lock files.
#[derive(Clone, Copy, Debug)]
pub struct AddressPool {
    pub base: Ipv4Addr,
    pub prefix: u8,
    pub block_prefix: u8,
    /// Lock files are `/run/sandboxd/<lock_name>-<index>.lock`.
    pub lock_name: &'static str,
}

/// Where sandboxes get their addresses.
pub const SANDBOX_POOL: AddressPool = AddressPool {
    base: Ipv4Addr::new(10, 200, 0, 0),
    prefix: 13,
    block_prefix: 21,
    lock_name: "sandbox-net",
};

/// For networks that tests build to stand in for "the internet"; disjoint from [`SANDBOX_POOL`].
pub const TEST_POOL: AddressPool = AddressPool {
    base: Ipv4Addr::new(10, 199, 0, 0),
    prefix: 16,
    block_prefix: 24,
    lock_name: "test-net",
};

/// Addresses of one sandbox link: a /30 (network, host end, sandbox end, broadcast).
const SLOT_SIZE: u32 = 4;
const SLOT_PREFIX: u8 = 30;
/// Name of the sandbox end inside its network namespace.
const SANDBOX_IF: &str = "eth0";

/// A block of addresses this process holds until it is dropped.
#[derive(Debug)]
pub struct AddressBlock {
    pub network: Ipv4Addr,
    pub prefix: u8,
    _lock: File,
}

impl AddressBlock {
    /// Claims the first block of `pool` that no other process holds and that no host interface
    /// or iptables rule already uses (a crashed holder may have left either behind).
    pub fn claim(pool: AddressPool) -> anyhow::Result<AddressBlock> {
        crate::host_files::create_private_dir_all(std::path::Path::new(HOST_LOCK_DIR))
            .with_context(|| format!("creating {HOST_LOCK_DIR}"))?;
        let block_size = 1u32 << (32 - pool.block_prefix);
        let blocks = 1u32 << (pool.block_prefix - pool.prefix);
        let in_use = host_ipv4_addresses()?;
        let rules: String = ["filter", "nat"]
            .iter()
            .filter_map(|t| iptables_save(t).ok())
            .collect();
        for index in 0..blocks {
            let path = format!("{HOST_LOCK_DIR}/{}-{index}.lock", pool.lock_name);
            let file = crate::host_files::open_private_file(std::path::Path::new(&path))?;
            // SAFETY: flock on an fd we own; released when the file is closed.
            if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } != 0 {
                continue;
            }
            let network = Ipv4Addr::from(u32::from(pool.base) + index * block_size);
            let block = AddressBlock {
                network,
                prefix: pool.block_prefix,
                _lock: file,
            };
            let in_rules = rules.contains(&format!("{} ", block.cidr()));
            if !in_rules && !in_use.iter().any(|a| block.contains(*a)) {
                return Ok(block);
            }
        }
        bail!("no free address block in {}/{}", pool.base, pool.prefix)
    }

    pub fn contains(&self, addr: Ipv4Addr) -> bool {
        let mask = u32::MAX << (32 - self.prefix);
        u32::from(addr) & mask == u32::from(self.network)
    }

    /// The `n`th address of the block.
    pub fn address(&self, n: u32) -> Ipv4Addr {
        Ipv4Addr::from(u32::from(self.network) + n)
    }

    fn cidr(&self) -> String {
        format!("{}/{}", self.network, self.prefix)
    }

    fn slots(&self) -> u32 {
        (1u32 << (32 - self.prefix)) / SLOT_SIZE
    }
}

/// One sandbox's link to the host.
#[derive(Debug)]
pub(crate) struct Uplink {
    slot: u32,
    pub host_if: String,
    pub host_ip: Ipv4Addr,
    pub sandbox_ip: Ipv4Addr,
}

/// The instance's network state: its address block (claimed on first use) and used slots.
pub(crate) struct Network {
    instance: String,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    block: Option<AddressBlock>,
    used: Vec<bool>,
    /// Slots are handed out round-robin so a just-freed link is not reused at once.
    next: u32,
}

impl Network {
    pub fn new(instance: &str) -> Network {
        Network {
            instance: instance.to_string(),
            state: Mutex::new(State::default()),
        }
    }

    fn chain(&self) -> String {
        format!("sandboxd-{}", self.instance)
    }

    fn host_if_prefix(&self) -> String {
        format!("sb-{}-", self.instance)
    }

    /// Connects the network namespace of thread `netns_tid` to the host with NAT. `inside` is an
    /// AF_INET socket created in that namespace (ioctls on it configure the sandbox end).
    pub fn attach(&self, netns_tid: i32, inside: &OwnedFd) -> anyhow::Result<Uplink> {
        let (slot, base) = self.take_slot()?;
        let uplink = Uplink {
            slot,
            host_if: format!("{}{slot:x}", self.host_if_prefix()),
            host_ip: Ipv4Addr::from(u32::from(base) + 1),
            sandbox_ip: Ipv4Addr::from(u32::from(base) + 2),
        };
        let configured = (|| {
            run_ip(&[
                "link",
                "add",
                &uplink.host_if,
                "type",
                "veth",
                "peer",
                "name",
                SANDBOX_IF,
                "netns",
                &netns_tid.to_string(),
            ])?;
            harden_host_end(&uplink.host_if)?;
            let host = inet_socket(libc::SOCK_DGRAM)?;
            set_address(&host, &uplink.host_if, uplink.host_ip)?;
            set_up(&host, &uplink.host_if)?;
            set_address(inside, SANDBOX_IF, uplink.sandbox_ip)?;
            set_up(inside, SANDBOX_IF)?;
            add_default_route(inside, uplink.host_ip)
        })();
        if let Err(e) = configured {
            self.detach(uplink);
            return Err(e);
        }
        Ok(uplink)
    }

    /// [`Network::attach`], then the link's egress chain with `rules`, before anything inside
    /// can use the link.
    pub fn attach_with_egress(
        &self,
        netns_tid: i32,
        inside: &OwnedFd,
        rules: &EgressRules,
    ) -> anyhow::Result<Uplink> {
        let uplink = self.attach(netns_tid, inside)?;
        if let Err(e) = self.install_egress(&uplink, rules) {
            self.detach(uplink);
            return Err(e);
        }
        Ok(uplink)
    }

    /// Deletes the link (synchronously, so its name and addresses are free again) and the slot.
    pub fn detach(&self, uplink: Uplink) {
        self.remove_egress(&uplink);
        let _ = run_ip(&["link", "del", &uplink.host_if]);
        let mut state = self.state.lock().unwrap();
        if let Some(used) = state.used.get_mut(uplink.slot as usize) {
            *used = false;
        }
    }

    fn take_slot(&self) -> anyhow::Result<(u32, Ipv4Addr)> {
        let mut state = self.state.lock().unwrap();
        if state.block.is_none() {
            let block = AddressBlock::claim(SANDBOX_POOL)?;
            enable_ip_forwarding()?;
            self.install_rules(&block)?;
            state.used = vec![false; block.slots() as usize];
            state.block = Some(block);
        }
        let slots = state.used.len() as u32;
        // Slot 0 holds the block's network address; start from 1.
        let slot = (0..slots)
            .map(|i| 1 + (state.next + i) % (slots - 1))
            .find(|s| !state.used[*s as usize])
            .context("every sandbox network slot of this instance is in use")?;
        state.used[slot as usize] = true;
        state.next = slot;
        let block = state.block.as_ref().expect("claimed above");
        Ok((slot, block.address(slot * SLOT_SIZE)))
    }

    fn install_rules(&self, block: &AddressBlock) -> anyhow::Result<()> {
        let (chain, cidr, pool) = (self.chain(), block.cidr(), pool_cidr(SANDBOX_POOL));
        let rules = format!(
            "*filter\n\
             :{chain} - [0:0]\n\
             -A {chain} -s {cidr} -d {pool} -j DROP\n\
             -A {chain} -s {cidr} -j ACCEPT\n\
             -A {chain} -d {cidr} -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT\n\
             -I FORWARD -m comment --comment {chain} -j {chain}\n\
             -I INPUT -s {cidr} -m conntrack --ctstate NEW,INVALID -m comment --comment {chain} -j DROP\n\
             COMMIT\n\
             *nat\n\
             -A POSTROUTING -s {cidr} ! -d {cidr} -m comment --comment {chain} -j MASQUERADE\n\
             COMMIT\n"
        );
        iptables_restore(&rules).context("installing the sandbox NAT rules")
    }

    /// Removes this instance's iptables rules and host links (after a crash, or at close).
    pub fn remove_leftovers(&self) -> anyhow::Result<()> {
        for name in host_interfaces()? {
            // The kernel deletes a veth by itself when its peer's netns dies, which races with
            // this loop right after a crash: one that vanished meanwhile is not a failure.
            if name.starts_with(&self.host_if_prefix())
                && let Err(e) = run_ip(&["link", "del", &name])
                && host_interfaces()?.contains(&name)
            {
                return Err(e);
            }
        }
        self.remove_rules()
    }

    fn remove_rules(&self) -> anyhow::Result<()> {
        let chain = self.chain();
        let mut script = String::new();
        for table in ["filter", "nat"] {
            let Ok(saved) = iptables_save(table) else {
                continue;
            };
            let deletes = deletions(&saved, &chain);
            if !deletes.is_empty() {
                script.push_str(&format!("*{table}\n{}COMMIT\n", deletes.concat()));
            }
        }
        if script.is_empty() {
            Ok(())
        } else {
            iptables_restore(&script)
        }
    }

    /// Removes the rules and releases the address block. Every uplink must be detached.
    pub fn close(&self) -> anyhow::Result<()> {
        let mut state = self.state.lock().unwrap();
        if state.block.take().is_some() {
            self.remove_rules()?;
        }
        Ok(())
    }
}

/// The `iptables-restore` lines that undo this chain's rules in one table's `iptables-save`,
/// and remove it and its links' egress chains (`<chain>-<slot>`, jumped to only from it).
fn deletions(saved: &str, chain: &str) -> Vec<String> {
    let comment = format!("--comment {chain} ");
    let mut lines: Vec<String> = saved
        .lines()
        .filter(|l| l.starts_with("-A ") && !l.starts_with(&format!("-A {chain} ")))
        .filter(|l| l.contains(&comment) || l.ends_with(&format!("-j {chain}")))
        .map(|l| format!("-D {}\n", &l[3..]))
        .collect();
    let (own, egress) = (format!(":{chain} "), format!(":{chain}-"));
    let chains: Vec<&str> = saved
        .lines()
        .filter(|l| l.starts_with(&own) || l.starts_with(&egress))
        .map(|l| l[1..].split(' ').next().unwrap_or_default())
        .collect();
    // Every chain emptied before any is deleted: a chain still jumped to cannot be.
    lines.extend(chains.iter().map(|name| format!("-F {name}\n")));
    lines.extend(chains.iter().map(|name| format!("-X {name}\n")));
    lines
}

fn pool_cidr(pool: AddressPool) -> String {
    format!("{}/{}", pool.base, pool.prefix)
}

/// Settings of a sandbox's own network namespace, written from a thread inside it (the
/// sandbox's root cannot change them: the namespace belongs to the host's user namespace).
/// - Ports below 1024 bind without `CAP_NET_BIND_SERVICE` over the namespace, and `ping` works
///   through ICMP datagram sockets, as Docker sets up every container: the sandbox's root has
///   no capabilities over a namespace it does not own.
/// - IPv6 is off on every link that joins the namespace later (the veth to the host): the host
///   is not reachable over IPv6 link-local addresses. Loopback keeps `::1`.
pub(crate) fn configure_sandbox_namespace() -> anyhow::Result<()> {
    for (key, value) in [
        ("ipv4/ip_unprivileged_port_start", "0"),
        ("ipv4/ping_group_range", "0 2147483647"),
        ("ipv6/conf/default/disable_ipv6", "1"),
    ] {
        fs::write(format!("/proc/sys/net/{key}"), value)
            .with_context(|| format!("setting net.{key} in the sandbox's network namespace"))?;
    }
    Ok(())
}

/// The host end of a sandbox's veth: no IPv6 (so no link-local address the sandbox could reach
/// the host through), and strict reverse-path filtering, so packets whose source address is not
/// the sandbox's own are dropped.
fn harden_host_end(host_if: &str) -> anyhow::Result<()> {
    for (key, value) in [
        (format!("ipv6/conf/{host_if}/disable_ipv6"), "1"),
        (format!("ipv4/conf/{host_if}/rp_filter"), "1"),
    ] {
        fs::write(format!("/proc/sys/net/{key}"), value)
            .with_context(|| format!("setting net.{key}"))?;
    }
    Ok(())
}

fn enable_ip_forwarding() -> anyhow::Result<()> {
    // Host-global, like Docker: only ever switched on, never off (other instances rely on it).
    let path = "/proc/sys/net/ipv4/ip_forward";
    if fs::read_to_string(path)?.trim() != "1" {
        fs::write(path, "1").context("enabling net.ipv4.ip_forward")?;
    }
    Ok(())
}

fn run_ip(args: &[&str]) -> anyhow::Result<()> {
    let out = Command::new("ip")
        .args(args)
        .stdin(Stdio::null())
        .output()
        .context("running ip (iproute2)")?;
    if !out.status.success() {
        bail!(
            "ip {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(())
}

fn iptables_restore(script: &str) -> anyhow::Result<()> {
    let mut child = Command::new("iptables-restore")
        .args(["-w", "--noflush"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .context("running iptables-restore")?;
    child
        .stdin
        .take()
        .expect("piped")
        .write_all(script.as_bytes())?;
    let out = child.wait_with_output()?;
    if !out.status.success() {
        bail!(
            "iptables-restore: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(())
}

fn iptables_save(table: &str) -> anyhow::Result<String> {
    let out = Command::new("iptables-save")
        .args(["-t", table])
        .stderr(Stdio::null())
        .output()?;
    if !out.status.success() {
        bail!("iptables-save -t {table} failed");
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

fn host_interfaces() -> anyhow::Result<Vec<String>> {
    Ok(fs::read_dir("/sys/class/net")?
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect())
}

fn host_ipv4_addresses() -> anyhow::Result<Vec<Ipv4Addr>> {
    let mut list: *mut libc::ifaddrs = std::ptr::null_mut();
    // SAFETY: getifaddrs fills `list`, which is walked read-only and freed below.
    if unsafe { libc::getifaddrs(&mut list) } != 0 {
        return Err(std::io::Error::last_os_error().into());
    }
    let mut addrs = Vec::new();
    let mut cur = list;
    while !cur.is_null() {
        // SAFETY: `cur` is a node of the list returned by getifaddrs.
        let ifa = unsafe { &*cur };
        if !ifa.ifa_addr.is_null()
            && i32::from(unsafe { (*ifa.ifa_addr).sa_family }) == libc::AF_INET
        {
            // SAFETY: the family says this is a sockaddr_in.
            let sin = unsafe { &*(ifa.ifa_addr as *const libc::sockaddr_in) };
            addrs.push(Ipv4Addr::from(u32::from_be(sin.sin_addr.s_addr)));
        }
        cur = ifa.ifa_next;
    }
    // SAFETY: frees the list from getifaddrs exactly once.
    unsafe { libc::freeifaddrs(list) };
    Ok(addrs)
}

/// An AF_INET socket of `kind` (`SOCK_DGRAM` for interface ioctls) in the calling thread's
/// network namespace.
pub(crate) fn inet_socket(kind: libc::c_int) -> std::io::Result<OwnedFd> {
    // SAFETY: socket(2); the fd is owned by the returned OwnedFd.
    let fd = unsafe { libc::socket(libc::AF_INET, kind | libc::SOCK_CLOEXEC, 0) };
    if fd < 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: fd is a fresh descriptor nobody else owns.
    Ok(unsafe { std::os::fd::FromRawFd::from_raw_fd(fd) })
}

fn ifreq(name: &str) -> anyhow::Result<libc::ifreq> {
    // SAFETY: ifreq is plain old data; all-zero is a valid value.
    let mut req: libc::ifreq = unsafe { std::mem::zeroed() };
    if name.len() >= req.ifr_name.len() {
        bail!("interface name {name} too long");
    }
    for (dst, src) in req.ifr_name.iter_mut().zip(name.bytes()) {
        *dst = src as libc::c_char;
    }
    Ok(req)
}

fn sockaddr(addr: Ipv4Addr) -> libc::sockaddr {
    let sin = libc::sockaddr_in {
        sin_family: libc::AF_INET as libc::sa_family_t,
        sin_port: 0,
        sin_addr: libc::in_addr {
            s_addr: u32::from(addr).to_be(),
        },
        sin_zero: [0; 8],
    };
    // SAFETY: sockaddr_in and sockaddr have the same size; this is how the ioctl API is typed.
    unsafe { std::mem::transmute::<libc::sockaddr_in, libc::sockaddr>(sin) }
}

fn ioctl(
    sock: &OwnedFd,
    request: libc::c_ulong,
    arg: *mut libc::c_void,
    what: &str,
) -> anyhow::Result<()> {
    // SAFETY: `arg` points to the structure the request expects, alive for the call.
    if unsafe { libc::ioctl(sock.as_raw_fd(), request, arg) } != 0 {
        return Err(std::io::Error::last_os_error()).context(what.to_string());
    }
    Ok(())
}

/// Brings interface `name` up in the socket's network namespace.
pub(crate) fn set_up(sock: &OwnedFd, name: &str) -> anyhow::Result<()> {
    let mut req = ifreq(name)?;
    ioctl(
        sock,
        libc::SIOCGIFFLAGS,
        (&raw mut req).cast(),
        &format!("reading flags of {name}"),
    )?;
    // SAFETY: SIOCGIFFLAGS filled the flags member of the union.
    unsafe { req.ifr_ifru.ifru_flags |= libc::IFF_UP as libc::c_short };
    ioctl(
        sock,
        libc::SIOCSIFFLAGS,
        (&raw mut req).cast(),
        &format!("bringing {name} up"),
    )
}

fn set_address(sock: &OwnedFd, name: &str, addr: Ipv4Addr) -> anyhow::Result<()> {
    let mut req = ifreq(name)?;
    req.ifr_ifru.ifru_addr = sockaddr(addr);
    ioctl(
        sock,
        libc::SIOCSIFADDR,
        (&raw mut req).cast(),
        &format!("setting {addr} on {name}"),
    )?;
    let mask = Ipv4Addr::from(u32::MAX << (32 - SLOT_PREFIX));
    req.ifr_ifru.ifru_netmask = sockaddr(mask);
    ioctl(
        sock,
        libc::SIOCSIFNETMASK,
        (&raw mut req).cast(),
        &format!("setting netmask on {name}"),
    )
}

fn add_default_route(sock: &OwnedFd, gateway: Ipv4Addr) -> anyhow::Result<()> {
    // SAFETY: rtentry is plain old data; all-zero is a valid value.
    let mut route: libc::rtentry = unsafe { std::mem::zeroed() };
    route.rt_dst = sockaddr(Ipv4Addr::UNSPECIFIED);
    route.rt_genmask = sockaddr(Ipv4Addr::UNSPECIFIED);
    route.rt_gateway = sockaddr(gateway);
    route.rt_flags = libc::RTF_UP | libc::RTF_GATEWAY;
    ioctl(
        sock,
        libc::SIOCADDRT,
        (&raw mut route).cast(),
        "adding the default route",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deletions_undo_only_this_chain() {
        let saved = "\
*filter\n\
:INPUT ACCEPT [0:0]\n\
:sandboxd-aaaaaa-1f - [0:0]\n\
:sandboxd-aaaaaa - [0:0]\n\
:sandboxd-bbbbbb - [0:0]\n\
-A INPUT -s 10.200.0.0/21 -m comment --comment sandboxd-aaaaaa -j DROP\n\
-A INPUT -s 10.200.8.0/21 -m comment --comment sandboxd-bbbbbb -j DROP\n\
-A FORWARD -m comment --comment sandboxd-aaaaaa -j sandboxd-aaaaaa\n\
-A sandboxd-aaaaaa -i sb-aaaaaa-1f -j sandboxd-aaaaaa-1f\n\
-A sandboxd-aaaaaa -s 10.200.0.0/21 -j ACCEPT\n\
-A sandboxd-aaaaaa-1f -d 0.0.0.0/0 -j REJECT --reject-with icmp-admin-prohibited\n\
COMMIT\n";
        assert_eq!(
            deletions(saved, "sandboxd-aaaaaa"),
            vec![
                "-D INPUT -s 10.200.0.0/21 -m comment --comment sandboxd-aaaaaa -j DROP\n",
                "-D FORWARD -m comment --comment sandboxd-aaaaaa -j sandboxd-aaaaaa\n",
                "-F sandboxd-aaaaaa-1f\n",
                "-F sandboxd-aaaaaa\n",
                "-X sandboxd-aaaaaa-1f\n",
                "-X sandboxd-aaaaaa\n",
            ]
        );
        assert!(deletions(saved, "sandboxd-cccccc").is_empty());
    }

    #[test]
    fn blocks_are_disjoint_between_holders() {
        let a = AddressBlock::claim(TEST_POOL).unwrap();
        let b = AddressBlock::claim(TEST_POOL).unwrap();
        assert_ne!(a.network, b.network);
        assert!(a.contains(a.address(5)) && !b.contains(a.address(5)));
    }

    #[test]
    fn blocks_still_named_in_iptables_rules_are_skipped() {
        let leaked = AddressBlock::claim(TEST_POOL).unwrap();
        let (network, cidr) = (leaked.network, leaked.cidr());
        let rule = |op: &str| {
            format!(
                "*filter\n{op} INPUT -s {cidr} -m comment --comment sbx-unit-test -j DROP\nCOMMIT\n"
            )
        };
        iptables_restore(&rule("-A")).unwrap();
        // Released, as by a crashed holder whose rules stayed behind.
        drop(leaked);
        let next = AddressBlock::claim(TEST_POOL);
        iptables_restore(&rule("-D")).unwrap();
        assert_ne!(next.unwrap().network, network);
    }
}
