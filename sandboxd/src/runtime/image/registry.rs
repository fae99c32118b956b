//! Talking to an OCI registry (Distribution API) through `oci-client`: reference names as
//! Docker resolves them, credentials, the host's platform out of an image index, digest-checked
//! blob downloads into the store, and the classes of failure ([`ImageError`]).

use std::path::Path;
use std::time::Duration;

use oci_client::client::{ClientConfig, ClientProtocol};
use oci_client::errors::{OciDistributionError, OciErrorCode};
use oci_client::manifest::OciDescriptor;
use oci_client::{Client, Reference, RegistryOperation};
use serde::Deserialize;

use super::store::Store;
use super::{ImageConfig, ImageError, Limits, PulledImage, RegistryAuth, unpack};

/// A connect that takes longer counts as "registry unreachable".
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// A stalled download fails after this long without data.
const READ_TIMEOUT: Duration = Duration::from_secs(120);

/// Parses `reference` as Docker does (`debian` → `docker.io/library/debian:latest`); Docker Hub
/// names go to `docker_hub_mirror` when one is given.
pub(super) fn parse_reference(
    reference: &str,
    docker_hub_mirror: Option<&str>,
) -> Result<Reference, ImageError> {
    let mut parsed: Reference = reference
        .parse()
        .map_err(|e| ImageError::InvalidReference(format!("{reference:?}: {e}")))?;
    if let Some(mirror) = docker_hub_mirror {
        if parsed.registry() == "docker.io" {
            parsed.set_mirror_registry(mirror.to_string());
        }
    }
    Ok(parsed)
}

/// Pulls the manifest (the host platform's, from an index), the config and every layer not
/// yet in the store.
pub(super) async fn pull(
    reference: &Reference,
    auth: &RegistryAuth,
    store: &Store,
    limits: &Limits,
) -> Result<PulledImage, ImageError> {
    let client = client_for(reference);
    let auth = match auth {
        RegistryAuth::Anonymous => oci_client::secrets::RegistryAuth::Anonymous,
        RegistryAuth::Basic { username, password } => {
            oci_client::secrets::RegistryAuth::Basic(username.clone(), password.clone())
        }
        RegistryAuth::Bearer(token) => oci_client::secrets::RegistryAuth::Bearer(token.clone()),
    };
    let registry = reference.resolve_registry().to_string();
    let fail = |e| classify(e, &registry, reference);
    // The token exchange first: it is also where an unreachable registry shows, and where
    // wrong credentials get the registry's own answer rather than a bare 401 later.
    client
        .auth(reference, &auth, RegistryOperation::Pull)
        .await
        .map_err(fail)?;
    let (manifest, digest) = client
        .pull_image_manifest(reference, &auth)
        .await
        .map_err(fail)?;
    if manifest.layers.len() > limits.max_layers {
        return Err(ImageError::Limit(format!(
            "{reference} has {} layers, more than {}",
            manifest.layers.len(),
            limits.max_layers
        )));
    }
    let config_path = store.blob(&manifest.config.digest)?;
    if !config_path.exists() {
        let scratch = store.scratch()?;
        download(
            &client,
            reference,
            &manifest.config,
            &scratch.path.join("blob"),
        )
        .await
        .map_err(fail)?;
        scratch.install("blob", &config_path)?;
    }
    let config = read_config(&config_path)?;
    let mut layers = Vec::new();
    for layer in &manifest.layers {
        if !layer.media_type.contains("tar") {
            return Err(ImageError::BadLayer(format!(
                "{reference}: layer {} is {:?}, not a filesystem tar",
                layer.digest, layer.media_type
            )));
        }
        let dest = store.layer(&layer.digest)?;
        if !dest.exists() {
            fetch_layer(&client, reference, layer, store, &dest, limits)
                .await
                .map_err(|e| match e {
                    Fetch::Registry(e) => fail(e),
                    Fetch::Image(e) => e,
                })?;
        }
        layers.push(dest);
    }
    Ok(PulledImage {
        layers,
        config,
        digest: Some(digest),
    })
}

enum Fetch {
    Registry(OciDistributionError),
    Image(ImageError),
}

/// Downloads one layer into scratch, unpacks it there and moves it to `dest`.
async fn fetch_layer(
    client: &Client,
    reference: &Reference,
    layer: &OciDescriptor,
    store: &Store,
    dest: &Path,
    limits: &Limits,
) -> Result<(), Fetch> {
    let scratch = store.scratch().map_err(Fetch::Image)?;
    let blob = scratch.path.join("blob");
    download(client, reference, layer, &blob)
        .await
        .map_err(Fetch::Registry)?;
    let unpacked = scratch.path.join("layer");
    let (dir, limits_owned) = (unpacked.clone(), limits.clone());
    let digest = layer.digest.clone();
    tokio::task::spawn_blocking(move || -> Result<(), ImageError> {
        std::fs::create_dir(&dir).map_err(|e| ImageError::Io(format!("{}: {e}", dir.display())))?;
        unpack::unpack_layer(&blob, &dir, &limits_owned)
            .map(drop)
            .map_err(|e| with_layer(e, &digest))
    })
    .await
    .map_err(|e| Fetch::Image(ImageError::Io(format!("unpacking: {e}"))))?
    .map_err(Fetch::Image)?;
    scratch.install("layer", dest).map_err(Fetch::Image)
}

/// Streams a blob to `path`; `oci-client` checks the content against the descriptor's digest
/// (and the registry's `Docker-Content-Digest`) and fails on a mismatch.
async fn download(
    client: &Client,
    reference: &Reference,
    descriptor: &OciDescriptor,
    path: &Path,
) -> Result<(), OciDistributionError> {
    let file = tokio::fs::File::create(path).await?;
    client.pull_blob(reference, descriptor, file).await
}

fn read_config(path: &Path) -> Result<ImageConfig, ImageError> {
    let bytes =
        std::fs::read(path).map_err(|e| ImageError::Io(format!("{}: {e}", path.display())))?;
    parse_config(&bytes)
}

/// The image config's `config` object; Docker writes `null` for what is unset.
fn parse_config(bytes: &[u8]) -> Result<ImageConfig, ImageError> {
    #[derive(Deserialize)]
    struct ConfigFile {
        config: Option<Config>,
        architecture: Option<String>,
    }
    #[derive(Deserialize)]
    #[serde(rename_all = "PascalCase")]
    struct Config {
        env: Option<Vec<String>>,
        working_dir: Option<String>,
        user: Option<String>,
        entrypoint: Option<Vec<String>>,
        cmd: Option<Vec<String>>,
    }
    let file: ConfigFile = serde_json::from_slice(bytes)
        .map_err(|e| ImageError::Registry(format!("the image config does not parse: {e}")))?;
    let host = host_architecture();
    if let Some(arch) = file.architecture.filter(|a| !a.is_empty() && *a != host) {
        return Err(ImageError::NotFound(format!(
            "the image is built for {arch}, this host runs {host}"
        )));
    }
    let Some(config) = file.config else {
        return Ok(ImageConfig::default());
    };
    Ok(ImageConfig {
        env: config.env.unwrap_or_default(),
        workdir: config.working_dir.unwrap_or_default(),
        user: config.user.unwrap_or_default(),
        entrypoint: config.entrypoint.unwrap_or_default(),
        cmd: config.cmd.unwrap_or_default(),
    })
}

/// The host's CPU architecture as OCI names it (Go's `GOARCH`).
fn host_architecture() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "x86" => "386",
        other => other,
    }
}

fn client_for(reference: &Reference) -> Client {
    // reqwest is built without a default crypto provider (no aws-lc); a second install fails
    // harmlessly.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let registry = reference.resolve_registry();
    // As Docker does, a registry on the loopback interface is spoken to over plain HTTP.
    let protocol = if is_loopback(registry) {
        ClientProtocol::HttpsExcept(vec![registry.to_string()])
    } else {
        ClientProtocol::Https
    };
    Client::new(ClientConfig {
        protocol,
        connect_timeout: Some(CONNECT_TIMEOUT),
        read_timeout: Some(READ_TIMEOUT),
        ..ClientConfig::default()
    })
}

fn is_loopback(registry: &str) -> bool {
    let host = match registry.rsplit_once(':') {
        Some((host, port)) if port.bytes().all(|b| b.is_ascii_digit()) => host,
        _ => registry,
    };
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host == "localhost"
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// Sorts `oci-client`'s errors into [`ImageError`]'s classes. "Unreachable" is a failure to
/// connect at all (refused, reset, DNS, timeout); any answer of the registry, a 401 or a 404
/// included, is the registry's verdict and stays an error of its own class.
fn classify(e: OciDistributionError, registry: &str, reference: &Reference) -> ImageError {
    let what = format!("{reference} from {registry}");
    match e {
        OciDistributionError::RequestError(e) if e.is_connect() || e.is_timeout() => {
            ImageError::Unreachable(format!("{what}: {}", chain(&e)))
        }
        OciDistributionError::AuthenticationFailure(m) => {
            ImageError::Auth(format!("{what}: {}", m.trim()))
        }
        OciDistributionError::UnauthorizedError { url } => {
            ImageError::Auth(format!("{what}: not authorized for {url}"))
        }
        OciDistributionError::ImageManifestNotFoundError(m) => {
            ImageError::NotFound(format!("{what}: {m}"))
        }
        OciDistributionError::DigestError(e) => ImageError::Digest(format!("{what}: {e}")),
        OciDistributionError::RegistryError { envelope, url } => {
            let codes: Vec<&OciErrorCode> = envelope.errors.iter().map(|e| &e.code).collect();
            let text = format!("{what}: {url}: {envelope}");
            if codes
                .iter()
                .any(|c| matches!(c, OciErrorCode::Unauthorized | OciErrorCode::Denied))
            {
                ImageError::Auth(text)
            } else if codes.iter().any(|c| {
                matches!(
                    c,
                    OciErrorCode::ManifestUnknown
                        | OciErrorCode::NameUnknown
                        | OciErrorCode::NotFound
                        | OciErrorCode::BlobUnknown
                )
            }) {
                ImageError::NotFound(text)
            } else {
                ImageError::Registry(text)
            }
        }
        OciDistributionError::ServerError { code, url, message } => match code {
            401 | 403 => ImageError::Auth(format!("{what}: {url}: {code} {message}")),
            404 => ImageError::NotFound(format!("{what}: {url}: {message}")),
            _ => ImageError::Registry(format!("{what}: {url}: {code} {message}")),
        },
        OciDistributionError::IoError(e) => ImageError::Io(format!("{what}: {e}")),
        other => ImageError::Registry(format!("{what}: {}", chain(&other))),
    }
}

/// An error with its causes, `a: b: c` (reqwest's own text leaves out why a connect failed).
fn chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        text.push_str(&format!(": {cause}"));
        source = cause.source();
    }
    text
}

fn with_layer(e: ImageError, digest: &str) -> ImageError {
    let add = |m: String| format!("layer {digest}: {m}");
    match e {
        ImageError::UnsafeLayer(m) => ImageError::UnsafeLayer(add(m)),
        ImageError::BadLayer(m) => ImageError::BadLayer(add(m)),
        ImageError::Limit(m) => ImageError::Limit(add(m)),
        ImageError::Io(m) => ImageError::Io(add(m)),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_names_resolve_as_docker_does() {
        let r = parse_reference("debian:bookworm", None).unwrap();
        assert_eq!(
            (r.registry(), r.repository(), r.tag()),
            ("docker.io", "library/debian", Some("bookworm"))
        );
        let r = parse_reference("python", None).unwrap();
        assert_eq!(
            (r.repository(), r.tag()),
            ("library/python", Some("latest"))
        );
        let r = parse_reference("oven/bun:1", Some("127.0.0.1:5000")).unwrap();
        assert_eq!(
            (r.resolve_registry(), r.repository()),
            ("127.0.0.1:5000", "oven/bun")
        );
        let r = parse_reference("ghcr.io/a/b:c", Some("127.0.0.1:5000")).unwrap();
        assert_eq!(r.resolve_registry(), "ghcr.io");
        assert!(matches!(
            parse_reference("Not A Ref", None),
            Err(ImageError::InvalidReference(_))
        ));
    }

    #[test]
    fn unset_config_fields_are_empty() {
        let docker = br#"{"config": {"Env": ["A=1"], "Entrypoint": null, "Cmd": ["sh"],
            "WorkingDir": "", "Labels": {"x": "y"}}, "rootfs": {}}"#;
        let config = parse_config(docker).unwrap();
        assert_eq!(
            (config.env, config.cmd),
            (vec!["A=1".into()], vec!["sh".into()])
        );
        assert!(config.entrypoint.is_empty() && config.user.is_empty());
        assert_eq!(parse_config(b"{}").unwrap(), ImageConfig::default());
        assert!(matches!(parse_config(b"[]"), Err(ImageError::Registry(_))));
        let foreign = if host_architecture() == "s390x" {
            "amd64"
        } else {
            "s390x"
        };
        let other_arch = format!(r#"{{"architecture": "{foreign}", "config": {{}}}}"#);
        assert!(matches!(
            parse_config(other_arch.as_bytes()),
            Err(ImageError::NotFound(m)) if m.contains(foreign)
        ));
    }

    #[test]
    fn loopback_registries_are_plain_http() {
        for host in [
            "localhost:5000",
            "127.0.0.1:5000",
            "127.0.0.1",
            "[::1]:5000",
        ] {
            assert!(is_loopback(host), "{host}");
        }
        for host in ["index.docker.io", "10.0.0.1:5000", "localhost.example.com"] {
            assert!(!is_loopback(host), "{host}");
        }
    }
}
