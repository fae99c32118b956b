//! Images: turns a `fromImage(...)` reference into read-only overlay layers.
//!
//! [`pull`] fetches an image from its OCI registry (Docker Hub for short names), verifies every
//! blob's digest, and unpacks each layer once per store (cached by digest, see [`store`]) with
//! the rules of [`unpack`]. When the registry cannot be reached at all, `debian:<suite>` is
//! built locally with mmdebstrap instead ([`local`]). `docs/images.md` describes the whole.

mod local;
pub mod merged;
mod registry;
mod store;
mod unpack;

use std::fmt;
use std::path::{Path, PathBuf};

use serde::Serialize;

/// An image ready to mount: its layers and what its config says about processes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PulledImage {
    /// Unpacked layer directories, lowest first (overlay's `lowerdir` lists them the other
    /// way round: topmost first).
    pub layers: Vec<PathBuf>,
    pub config: ImageConfig,
    /// The digest of the image manifest pulled (the host platform's, when the reference named
    /// an index), or `None` for a local build.
    pub digest: Option<String>,
}

/// The parts of an image config a sandbox uses (OCI image spec `config` object: `Env`,
/// `WorkingDir`, `User`, `Entrypoint`, `Cmd`); absent and `null` are empty.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct ImageConfig {
    pub env: Vec<String>,
    pub workdir: String,
    pub user: String,
    pub entrypoint: Vec<String>,
    pub cmd: Vec<String>,
}

/// Registry credentials, as the official SDK sends them in a template's `fromImageRegistry`.
#[derive(Clone, PartialEq, Eq)]
pub enum RegistryAuth {
    Anonymous,
    /// `fromImage(image, {username, password})`: HTTP basic auth, or exchanged for a bearer
    /// token at the realm the registry's challenge names.
    Basic {
        username: String,
        password: String,
    },
    /// A registry token used as is.
    Bearer(String),
}

impl RegistryAuth {
    /// Reads the SDK's `fromImageRegistry` object: `{"type": "registry", username, password}`
    /// or `{"type": "gcp", serviceAccountJson}` (Google's registries take the key as the
    /// password of user `_json_key`). `{"type": "aws", ...}` is refused: ECR wants a token
    /// from AWS's API, which sandboxd does not call.
    pub fn from_sdk(registry: &serde_json::Value) -> Result<RegistryAuth, ImageError> {
        let field = |name: &str| {
            registry[name]
                .as_str()
                .map(str::to_string)
                .ok_or_else(|| ImageError::Auth(format!("fromImageRegistry has no {name}")))
        };
        match registry["type"].as_str() {
            Some("registry") => Ok(RegistryAuth::Basic {
                username: field("username")?,
                password: field("password")?,
            }),
            Some("gcp") => Ok(RegistryAuth::Basic {
                username: "_json_key".into(),
                password: field("serviceAccountJson")?,
            }),
            Some("aws") => Err(ImageError::Auth(
                "AWS ECR credentials are not supported by sandboxd: pass an ECR token with \
                 fromImage(image, {username: 'AWS', password})"
                    .into(),
            )),
            other => Err(ImageError::Auth(format!(
                "unknown fromImageRegistry type {other:?}"
            ))),
        }
    }
}

impl fmt::Debug for RegistryAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never print a secret.
        match self {
            RegistryAuth::Anonymous => f.write_str("Anonymous"),
            RegistryAuth::Basic { username, .. } => write!(f, "Basic({username}, ***)"),
            RegistryAuth::Bearer(_) => f.write_str("Bearer(***)"),
        }
    }
}

/// Bounds on what one layer may unpack to; a layer past them is refused whole.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Sum of the sizes of the layer's files.
    pub max_unpacked_bytes: u64,
    /// Tar entries in the layer.
    pub max_entries: u64,
    /// Layers in an image (overlay stacks at most a few hundred).
    pub max_layers: usize,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_unpacked_bytes: 8 << 30,
            max_entries: 500_000,
            max_layers: 128,
        }
    }
}

/// How [`pull_with`] pulls.
#[derive(Clone, Debug, Default)]
pub struct PullOptions {
    pub limits: Limits,
    /// The registry Docker Hub names (`debian:bookworm`, `docker.io/...`) are fetched from,
    /// as Docker's `registry-mirrors`; `None` is Docker Hub itself.
    pub docker_hub_mirror: Option<String>,
}

/// Why a pull failed. Each variant is a class a caller can act on; the text says what was tried.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ImageError {
    /// The reference does not parse.
    InvalidReference(String),
    /// The registry could not be connected to (connection refused or reset, DNS failure,
    /// timeout), and no local build stood in.
    Unreachable(String),
    /// The registry refused the credentials (or their absence).
    Auth(String),
    /// No such repository, tag, digest or platform.
    NotFound(String),
    /// A blob's content does not match its digest.
    Digest(String),
    /// A layer tried to place something outside its directory.
    UnsafeLayer(String),
    /// A layer is not a well-formed tar, or uses what layers may not.
    BadLayer(String),
    /// A layer or image is over [`Limits`].
    Limit(String),
    /// Any other answer of the registry.
    Registry(String),
    /// Building `debian:*` locally failed.
    LocalBuild(String),
    /// The store could not be written.
    Io(String),
}

impl fmt::Display for ImageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (class, message) = match self {
            ImageError::InvalidReference(m) => ("invalid image reference", m),
            ImageError::Unreachable(m) => ("registry unreachable", m),
            ImageError::Auth(m) => ("registry authentication failed", m),
            ImageError::NotFound(m) => ("image not found", m),
            ImageError::Digest(m) => ("digest mismatch", m),
            ImageError::UnsafeLayer(m) => ("unsafe layer refused", m),
            ImageError::BadLayer(m) => ("malformed layer", m),
            ImageError::Limit(m) => ("image over the limits", m),
            ImageError::Registry(m) => ("registry error", m),
            ImageError::LocalBuild(m) => ("local image build failed", m),
            ImageError::Io(m) => ("image store error", m),
        };
        write!(f, "{class}: {message}")
    }
}

impl std::error::Error for ImageError {}

/// [`pull_with`] with the default options.
pub async fn pull(
    reference: &str,
    auth: RegistryAuth,
    store: &Path,
) -> Result<PulledImage, ImageError> {
    pull_with(reference, auth, store, &PullOptions::default()).await
}

/// Pulls `reference` into the layer store at `store` (created private to root if missing) and
/// returns its layers. Layers already in the store are not downloaded again. When the registry
/// is unreachable, `debian:<suite>` is built locally instead; other images fail with
/// [`ImageError::Unreachable`].
pub async fn pull_with(
    reference: &str,
    auth: RegistryAuth,
    store: &Path,
    options: &PullOptions,
) -> Result<PulledImage, ImageError> {
    let parsed = registry::parse_reference(reference, options.docker_hub_mirror.as_deref())?;
    let store = store::Store::open(store)?;
    match registry::pull(&parsed, &auth, &store, &options.limits).await {
        Err(ImageError::Unreachable(why)) => match local::debian_suite(&parsed) {
            Some(tag) => local::build_debian(&tag, &store, &why).await,
            None => Err(ImageError::Unreachable(local::not_built_locally(
                reference, &parsed, &why,
            ))),
        },
        result => result,
    }
}

/// `sandboxd image pull <reference> --store <dir>`: pulls as a template build would and prints
/// the result as JSON (layers lowest first, config, digest), for operators and debugging.
pub fn pull_command(
    reference: &str,
    store: &Path,
    username: Option<String>,
    password: Option<String>,
) -> anyhow::Result<()> {
    let auth = match (username, password) {
        (Some(username), Some(password)) => RegistryAuth::Basic { username, password },
        (None, None) => RegistryAuth::Anonymous,
        _ => anyhow::bail!("give both a username and a password, or neither"),
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let image = runtime.block_on(pull(reference, auth, store))?;
    println!("{}", serde_json::to_string_pretty(&image)?);
    Ok(())
}
