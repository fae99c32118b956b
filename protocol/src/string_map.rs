//! [`StringMap`]: the value of a `map<string, string>` field (process `envs`, entry `metadata`).
//!
//! A `Vec` of pairs kept sorted by key, not a `BTreeMap`: the maps hold a handful of entries,
//! and the B-tree's code is about 4.5 KiB of the SDK's wasm. It behaves as the `BTreeMap` did
//! where the protocol can tell: one value per key (the last one set wins, as protobuf decodes
//! a repeated map key) and iteration, so encoding, in key order.

use crate::prelude::*;

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StringMap(Vec<(String, String)>);

impl StringMap {
    pub const fn new() -> StringMap {
        StringMap(Vec::new())
    }

    /// Sets `key` to `value`; the value it had, if any.
    pub fn insert(&mut self, key: String, value: String) -> Option<String> {
        match self.0.binary_search_by(|(k, _)| k.as_str().cmp(&key)) {
            Ok(i) => Some(core::mem::replace(&mut self.0[i].1, value)),
            Err(i) => {
                self.0.insert(i, (key, value));
                None
            }
        }
    }

    pub fn get(&self, key: &str) -> Option<&String> {
        let i = self.0.binary_search_by(|(k, _)| k.as_str().cmp(key)).ok()?;
        Some(&self.0[i].1)
    }

    pub fn contains_key(&self, key: &str) -> bool {
        self.get(key).is_some()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// The entries in key order.
    pub fn iter(&self) -> impl Iterator<Item = (&String, &String)> {
        self.0.iter().map(|(k, v)| (k, v))
    }
}

impl FromIterator<(String, String)> for StringMap {
    fn from_iter<I: IntoIterator<Item = (String, String)>>(pairs: I) -> StringMap {
        let mut map = StringMap::new();
        map.extend(pairs);
        map
    }
}

impl Extend<(String, String)> for StringMap {
    fn extend<I: IntoIterator<Item = (String, String)>>(&mut self, pairs: I) {
        for (k, v) in pairs {
            self.insert(k, v);
        }
    }
}

impl IntoIterator for StringMap {
    type Item = (String, String);
    type IntoIter = alloc::vec::IntoIter<(String, String)>;
    /// The entries in key order.
    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter()
    }
}

impl<'a> IntoIterator for &'a StringMap {
    type Item = (&'a String, &'a String);
    type IntoIter = core::iter::Map<
        core::slice::Iter<'a, (String, String)>,
        fn(&'a (String, String)) -> (&'a String, &'a String),
    >;
    fn into_iter(self) -> Self::IntoIter {
        self.0.iter().map(|(k, v)| (k, v))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(x: &str) -> String {
        x.to_string()
    }

    #[test]
    fn keeps_one_value_per_key_in_key_order() {
        let mut map = StringMap::new();
        assert_eq!(map.insert(s("b"), s("1")), None);
        assert_eq!(map.insert(s("a"), s("2")), None);
        assert_eq!(map.insert(s("c"), s("3")), None);
        assert_eq!(map.insert(s("b"), s("4")), Some(s("1")));
        let pairs: Vec<(String, String)> = map.clone().into_iter().collect();
        assert_eq!(
            pairs,
            [(s("a"), s("2")), (s("b"), s("4")), (s("c"), s("3"))]
        );
        assert_eq!(map.get("b"), Some(&s("4")));
        assert_eq!(map.get("d"), None);
        assert!(map.contains_key("a"));
        assert_eq!(map.len(), 3);
        let keys: Vec<&String> = map.iter().map(|(k, _)| k).collect();
        assert_eq!(keys, [&s("a"), &s("b"), &s("c")]);
    }

    #[test]
    fn collects_like_a_map() {
        let map: StringMap = [(s("x"), s("1")), (s("x"), s("2"))].into_iter().collect();
        assert_eq!(map.len(), 1);
        assert_eq!(map.get("x"), Some(&s("2")));
        assert!(StringMap::default().is_empty());
    }
}
