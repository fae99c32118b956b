//! `debian:<suite>` without a registry: when Docker Hub cannot be reached, the image is built
//! here with mmdebstrap (variant `minbase`, close to Docker's `debian:<suite>-slim`) from the
//! Debian archive the host's apt uses, with the same code the `base` template is built by, and
//! kept in the store as one layer under `layers/local/`.
//!
//! Other images have no such fallback: Ubuntu's archive is not among the host's sources, and
//! anything else needs its registry.

use std::fs;

use oci_client::Reference;
use sha2::{Digest, Sha256};

use super::store::Store;
use super::{ImageConfig, ImageError, PulledImage};
use crate::runtime::base::{self, debian, sources};

/// Bump when what a local build makes changes in a way the hash does not see.
const FORMAT: &str = "local-1";

/// The tag of a Docker Hub `debian` image, the one kind built locally; `None` for the rest.
pub(super) fn debian_suite(reference: &Reference) -> Option<String> {
    let official = reference.registry() == "docker.io" && reference.digest().is_none();
    (official && reference.repository() == "library/debian")
        .then(|| reference.tag().unwrap_or("latest").to_string())
}

/// The message for an image that has no registry and no local build.
pub(super) fn not_built_locally(reference: &str, parsed: &Reference, why: &str) -> String {
    let local = if parsed.repository() == "library/ubuntu" {
        "; sandboxd builds only debian:* locally (the host's apt has no Ubuntu archive)"
    } else {
        ""
    };
    format!("{reference}: {why}{local}")
}

/// Builds (or finds already built) `debian:<tag>` in the store.
pub(super) async fn build_debian(
    tag: &str,
    store: &Store,
    unreachable: &str,
) -> Result<PulledImage, ImageError> {
    let cannot = |e: String| {
        ImageError::Unreachable(format!(
            "{unreachable}; and debian:{tag} cannot be built locally: {e}"
        ))
    };
    let suite = suite_for_tag(tag).map_err(cannot)?;
    let sources = sources::host_sources(&suite).map_err(|e| cannot(format!("{e:#}")))?;
    let mut hash = Sha256::new();
    hash.update(format!("{FORMAT}\n{suite}\n"));
    for source in &sources {
        hash.update(format!("source {}\n", source.line()));
    }
    let name = format!("debian-{suite}-{}", &hex::encode(hash.finalize())[..12]);
    let dest = store.local_layer(&name);
    let config = ImageConfig {
        env: vec!["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin".into()],
        cmd: vec!["bash".into()],
        ..ImageConfig::default()
    };
    let image = PulledImage {
        layers: vec![dest.clone()],
        config,
        digest: None,
    };
    if dest.exists() {
        return Ok(image);
    }
    let scratch = store.scratch()?;
    let lock_dir = store.root().to_path_buf();
    let build = move || -> anyhow::Result<()> {
        let _lock = base::build_lock(&lock_dir, &format!("debian:{suite}"))?;
        // Whoever held the lock before may have just built it.
        if dest.exists() {
            return Ok(());
        }
        eprintln!("sandboxd: no registry for debian:{suite}; building it with mmdebstrap");
        let started = std::time::Instant::now();
        debian::mmdebstrap(&scratch.path.join("layer"), &suite, &[], &sources)?;
        // Docker's image has no resolver of the build machine's; a sandbox writes its own.
        let _ = fs::remove_file(scratch.path.join("layer/etc/resolv.conf"));
        scratch.install("layer", &dest)?;
        eprintln!(
            "sandboxd: debian:{suite} built in {:.0} s",
            started.elapsed().as_secs_f64()
        );
        Ok(())
    };
    tokio::task::spawn_blocking(build)
        .await
        .map_err(|e| ImageError::LocalBuild(e.to_string()))?
        .map_err(|e| ImageError::LocalBuild(format!("debian:{tag}: {e:#}")))?;
    Ok(image)
}

/// The Debian suite a `debian` tag names: `bookworm`, `bookworm-slim`, `12`, `12-slim`;
/// `stable` and `latest` are the host's own release.
fn suite_for_tag(tag: &str) -> Result<String, String> {
    let tag = tag.strip_suffix("-slim").unwrap_or(tag);
    let suite = match tag {
        "11" => "bullseye".to_string(),
        "12" => "bookworm".to_string(),
        "13" => "trixie".to_string(),
        "stable" | "latest" => host_codename()
            .ok_or("the host is not Debian, so `stable` names no suite its apt serves")?,
        other if !other.is_empty() && other.bytes().all(|b| b.is_ascii_lowercase()) => {
            other.to_string()
        }
        other => return Err(format!("tag {other:?} names no Debian suite")),
    };
    Ok(suite)
}

/// `VERSION_CODENAME` of a Debian host's `/etc/os-release`.
fn host_codename() -> Option<String> {
    let text = fs::read_to_string("/etc/os-release").ok()?;
    let value = |key: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(key)?.strip_prefix('='))
            .map(|v| v.trim_matches('"').to_string())
    };
    (value("ID")? == "debian").then(|| value("VERSION_CODENAME"))?
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debian_tags_name_suites() {
        assert_eq!(suite_for_tag("bookworm").unwrap(), "bookworm");
        assert_eq!(suite_for_tag("bookworm-slim").unwrap(), "bookworm");
        assert_eq!(suite_for_tag("12").unwrap(), "bookworm");
        assert!(suite_for_tag("../x").is_err());
        assert!(suite_for_tag("bookworm-20250520").is_err());
    }

    #[test]
    fn only_docker_hubs_debian_is_built_locally() {
        let suite = |r: &str| debian_suite(&r.parse().unwrap());
        assert_eq!(suite("debian:bookworm").as_deref(), Some("bookworm"));
        assert_eq!(suite("docker.io/library/debian").as_deref(), Some("latest"));
        assert_eq!(suite("ubuntu:24.04"), None);
        assert_eq!(suite("ghcr.io/x/debian:bookworm"), None);
    }
}
