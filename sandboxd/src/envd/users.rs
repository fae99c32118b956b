//! Users and groups from the `/etc/passwd` and `/etc/group` of the filesystem envd runs in
//! (the sandbox's, or the host's in debug mode). Parsed once and re-read when either changes.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use envd_protocol::{Code, ConnectError};

/// A user operations run as.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct User {
    pub name: String,
    pub uid: u32,
    pub gid: u32,
    pub home: PathBuf,
    /// Supplementary groups (primary group included).
    pub groups: Vec<u32>,
}

/// The parsed account files.
#[derive(Debug, Default)]
pub struct Accounts {
    users: HashMap<String, User>,
    user_names: HashMap<u32, String>,
    group_names: HashMap<u32, String>,
}

impl Accounts {
    pub fn parse(passwd: &str, group: &str) -> Accounts {
        let mut accounts = Accounts::default();
        let mut members: HashMap<&str, Vec<u32>> = HashMap::new();
        for line in group.lines() {
            let fields: Vec<&str> = line.split(':').collect();
            let [name, _, gid, list] = fields[..] else {
                continue;
            };
            let Ok(gid) = gid.parse::<u32>() else {
                continue;
            };
            accounts
                .group_names
                .entry(gid)
                .or_insert_with(|| name.to_owned());
            for member in list.split(',').filter(|m| !m.is_empty()) {
                members.entry(member).or_default().push(gid);
            }
        }
        for line in passwd.lines() {
            let fields: Vec<&str> = line.split(':').collect();
            let [name, _, uid, gid, _, home, ..] = fields[..] else {
                continue;
            };
            let (Ok(uid), Ok(gid)) = (uid.parse::<u32>(), gid.parse::<u32>()) else {
                continue;
            };
            if name.is_empty() || accounts.users.contains_key(name) {
                continue;
            }
            let mut groups = vec![gid];
            for &g in members.get(name).into_iter().flatten() {
                if !groups.contains(&g) {
                    groups.push(g);
                }
            }
            accounts
                .user_names
                .entry(uid)
                .or_insert_with(|| name.to_owned());
            let home = PathBuf::from(if home.is_empty() { "/" } else { home });
            accounts.users.insert(
                name.to_owned(),
                User {
                    name: name.to_owned(),
                    uid,
                    gid,
                    home,
                    groups,
                },
            );
        }
        accounts
    }

    pub fn user(&self, name: &str) -> Option<&User> {
        self.users.get(name)
    }

    /// The user name for a uid, or the number as text.
    pub fn user_name(&self, uid: u32) -> String {
        self.user_names
            .get(&uid)
            .cloned()
            .unwrap_or_else(|| uid.to_string())
    }

    /// The group name for a gid, or the number as text.
    pub fn group_name(&self, gid: u32) -> String {
        self.group_names
            .get(&gid)
            .cloned()
            .unwrap_or_else(|| gid.to_string())
    }
}

type Stamp = (
    Option<SystemTime>,
    Option<SystemTime>,
    Option<u64>,
    Option<u64>,
);

/// Cache of [`Accounts`], refreshed when `/etc/passwd` or `/etc/group` changes.
pub struct UserDb {
    passwd: PathBuf,
    group: PathBuf,
    cached: Mutex<Option<(Stamp, Arc<Accounts>)>>,
}

impl UserDb {
    pub fn new() -> UserDb {
        UserDb {
            passwd: "/etc/passwd".into(),
            group: "/etc/group".into(),
            cached: Mutex::new(None),
        }
    }

    fn stamp(&self) -> Stamp {
        let meta = |p: &PathBuf| std::fs::metadata(p).ok();
        let (p, g) = (meta(&self.passwd), meta(&self.group));
        (
            p.as_ref().and_then(|m| m.modified().ok()),
            g.as_ref().and_then(|m| m.modified().ok()),
            p.map(|m| m.len()),
            g.map(|m| m.len()),
        )
    }

    /// The current accounts (missing files read as empty).
    pub fn accounts(&self) -> Arc<Accounts> {
        let stamp = self.stamp();
        let mut cached = self.cached.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((s, accounts)) = cached.as_ref() {
            if *s == stamp {
                return accounts.clone();
            }
        }
        let read = |p: &PathBuf| std::fs::read_to_string(p).unwrap_or_default();
        let accounts = Arc::new(Accounts::parse(&read(&self.passwd), &read(&self.group)));
        *cached = Some((stamp, accounts.clone()));
        accounts
    }

    /// Looks up a user by name; unknown → `unauthenticated` "invalid username: '<name>'".
    pub fn lookup(&self, name: &str) -> Result<User, ConnectError> {
        self.accounts().user(name).cloned().ok_or_else(|| {
            ConnectError::new(Code::Unauthenticated, format!("invalid username: '{name}'"))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PASSWD: &str = "root:x:0:0:root:/root:/bin/bash\n\
        user:x:1000:1000::/home/user:/bin/bash\n\
        broken line\n\
        nohome:x:1001:1001:::/bin/sh\n";
    const GROUP: &str =
        "root:x:0:\nsudo:x:27:user,other\nuser:x:1000:\nwheel:x:10:user\nbad:x:zz:user\n";

    #[test]
    fn users_get_primary_and_supplementary_groups() {
        let a = Accounts::parse(PASSWD, GROUP);
        let user = a.user("user").unwrap();
        assert_eq!((user.uid, user.gid), (1000, 1000));
        assert_eq!(user.home, PathBuf::from("/home/user"));
        assert_eq!(user.groups, vec![1000, 27, 10]);
        assert_eq!(a.user("root").unwrap().groups, vec![0]);
        assert_eq!(a.user("nohome").unwrap().home, PathBuf::from("/"));
        assert!(a.user("broken line").is_none());
    }

    #[test]
    fn names_fall_back_to_numbers() {
        let a = Accounts::parse(PASSWD, GROUP);
        assert_eq!(a.user_name(1000), "user");
        assert_eq!(a.group_name(27), "sudo");
        assert_eq!(a.user_name(4242), "4242");
        assert_eq!(a.group_name(4242), "4242");
    }
}
