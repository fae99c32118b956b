//! The Debian archive the base template is built from: the one this machine's apt already uses,
//! read from `/etc/apt/sources.list` and `/etc/apt/sources.list.d/` (one-line `.list` files and
//! deb822 `.sources` files), so a machine behind a local mirror builds from that mirror.

use std::fs;
use std::path::Path;

use anyhow::bail;

/// One `deb` line for the base's suite, as mmdebstrap takes it and as the sandbox's own
/// `/etc/apt/sources.list` keeps it (so `apt-get` inside talks to the same archive).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Source {
    pub uri: String,
    pub suite: String,
    pub components: Vec<String>,
    pub signed_by: Option<String>,
}

impl Source {
    pub fn line(&self) -> String {
        let options = match &self.signed_by {
            Some(keyring) => format!("[signed-by={keyring}] "),
            None => String::new(),
        };
        format!(
            "deb {options}{} {} {}",
            self.uri,
            self.suite,
            self.components.join(" ")
        )
    }
}

/// The host's `deb` entries whose suite is `suite` or one of its pockets (`suite-updates`,
/// `suite-security`, ...), in the order apt reads them.
pub(crate) fn host_sources(suite: &str) -> anyhow::Result<Vec<Source>> {
    let mut files = vec![Path::new("/etc/apt/sources.list").to_path_buf()];
    if let Ok(entries) = fs::read_dir("/etc/apt/sources.list.d") {
        let mut names: Vec<_> = entries.flatten().map(|e| e.path()).collect();
        names.sort();
        files.extend(names);
    }
    let mut sources = Vec::new();
    for file in files {
        let Ok(text) = fs::read_to_string(&file) else {
            continue;
        };
        match file.extension().and_then(|e| e.to_str()) {
            Some("sources") => sources.extend(parse_deb822(&text)),
            Some("list") => sources.extend(parse_one_line(&text)),
            // sources.list itself has no extension; anything else apt ignores too.
            _ if file.file_name().is_some_and(|n| n == "sources.list") => {
                sources.extend(parse_one_line(&text))
            }
            _ => {}
        }
    }
    let wanted: Vec<Source> = sources
        .into_iter()
        .filter(|s| s.suite == suite || s.suite.starts_with(&format!("{suite}-")))
        .collect();
    if wanted.is_empty() {
        bail!(
            "the host's apt has no `deb` source for Debian {suite} (looked in /etc/apt/sources.list \
             and /etc/apt/sources.list.d/): add one, e.g. `deb http://deb.debian.org/debian {suite} main`"
        );
    }
    Ok(wanted)
}

/// `deb [options] uri suite component...` lines; `deb-src` and comments are skipped.
fn parse_one_line(text: &str) -> Vec<Source> {
    let mut sources = Vec::new();
    for line in text.lines() {
        let line = line.split('#').next().unwrap_or_default().trim();
        let Some(rest) = line.strip_prefix("deb ") else {
            continue;
        };
        let mut rest = rest.trim_start();
        let mut signed_by = None;
        if let Some(options) = rest.strip_prefix('[') {
            let Some((options, after)) = options.split_once(']') else {
                continue;
            };
            signed_by = options
                .split_whitespace()
                .find_map(|o| o.strip_prefix("signed-by=").map(String::from));
            rest = after;
        }
        let mut words = rest.split_whitespace();
        let (Some(uri), Some(suite)) = (words.next(), words.next()) else {
            continue;
        };
        sources.push(Source {
            uri: uri.to_string(),
            suite: suite.to_string(),
            components: words.map(String::from).collect(),
            signed_by,
        });
    }
    sources
}

/// deb822 stanzas (`Types:`, `URIs:`, `Suites:`, `Components:`, `Signed-By:`, `Enabled:`);
/// one [`Source`] per URI and suite of each enabled `deb` stanza.
fn parse_deb822(text: &str) -> Vec<Source> {
    let mut sources = Vec::new();
    for stanza in text.split("\n\n") {
        let mut fields: Vec<(String, String)> = Vec::new();
        for line in stanza.lines() {
            if line.starts_with('#') {
                continue;
            }
            if line.starts_with([' ', '\t']) {
                // A continuation line (e.g. an inline key in Signed-By): not a path, ignored.
                continue;
            }
            if let Some((key, value)) = line.split_once(':') {
                fields.push((key.trim().to_ascii_lowercase(), value.trim().to_string()));
            }
        }
        let get = |key: &str| {
            fields
                .iter()
                .find(|(k, _)| k == key)
                .map(|(_, v)| v.as_str())
                .unwrap_or_default()
        };
        if !get("types").split_whitespace().any(|t| t == "deb")
            || get("enabled").eq_ignore_ascii_case("no")
        {
            continue;
        }
        let signed_by = Some(get("signed-by"))
            .filter(|k| k.starts_with('/'))
            .map(String::from);
        let components: Vec<String> = get("components")
            .split_whitespace()
            .map(String::from)
            .collect();
        for uri in get("uris").split_whitespace() {
            for suite in get("suites").split_whitespace() {
                sources.push(Source {
                    uri: uri.to_string(),
                    suite: suite.to_string(),
                    components: components.clone(),
                    signed_by: signed_by.clone(),
                });
            }
        }
    }
    sources
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deb822_stanzas_give_one_source_per_uri_and_suite() {
        let text = "Types: deb deb-src\n# a comment\nURIs: http://deb.debian.org/debian\n\
                    Suites: bookworm bookworm-updates\nComponents: main contrib\n\
                    Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg\n\n\
                    Types: deb-src\nURIs: http://x/debian\nSuites: bookworm\nComponents: main\n\n\
                    Types: deb\nEnabled: no\nURIs: http://y/debian\nSuites: bookworm\nComponents: main\n";
        let sources = parse_deb822(text);
        assert_eq!(sources.len(), 2);
        assert_eq!(
            sources[1].line(),
            "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] \
             http://deb.debian.org/debian bookworm-updates main contrib"
        );
    }

    #[test]
    fn one_line_entries_keep_their_keyring_and_skip_sources_and_comments() {
        let text = "# deb http://old/debian bookworm main\ndeb-src http://x/debian bookworm main\n\
                    deb [arch=amd64 signed-by=/k.gpg] http://m/debian bookworm main # mirror\n\
                    deb http://m/debian-security bookworm-security main\n";
        let lines: Vec<String> = parse_one_line(text).iter().map(Source::line).collect();
        assert_eq!(
            lines,
            [
                "deb [signed-by=/k.gpg] http://m/debian bookworm main",
                "deb http://m/debian-security bookworm-security main",
            ]
        );
    }
}
