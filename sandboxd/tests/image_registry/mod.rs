//! A tiny OCI registry for the image tests: the read half of the Distribution API (`/v2/`,
//! manifests by tag and digest, blobs) over plain HTTP on 127.0.0.1, open, behind a bearer-token
//! challenge whose token endpoint checks basic credentials (as Docker Hub does), or behind plain
//! basic auth.
//! It counts blob requests, and can serve a corrupted blob.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use base64::Engine;
use serde_json::json;
use sha2::{Digest, Sha256};

pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
const TOKEN: &str = "test-registry-token";

pub fn sha256(bytes: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(bytes)))
}

#[derive(Default)]
pub struct Contents {
    /// digest → bytes
    blobs: HashMap<String, Vec<u8>>,
    /// "repo:tag" or "repo@digest" → (media type, body)
    manifests: HashMap<String, (String, Vec<u8>)>,
}

impl Contents {
    pub fn add_blob(&mut self, bytes: Vec<u8>) -> serde_json::Value {
        let digest = sha256(&bytes);
        let descriptor = json!({"digest": digest, "size": bytes.len()});
        self.blobs.insert(digest, bytes);
        descriptor
    }

    /// Adds a manifest (or index) under its digest and, when given, a tag; returns its digest.
    pub fn add_manifest(
        &mut self,
        repo: &str,
        tag: Option<&str>,
        media_type: &str,
        body: &serde_json::Value,
    ) -> String {
        let bytes = serde_json::to_vec(body).unwrap();
        let digest = sha256(&bytes);
        let entry = (media_type.to_string(), bytes);
        if let Some(tag) = tag {
            self.manifests
                .insert(format!("{repo}:{tag}"), entry.clone());
        }
        self.manifests.insert(format!("{repo}@{digest}"), entry);
        digest
    }

    /// An image of `layers` (media type, bytes) with `config` (the image config's `config`
    /// object), tagged `repo:tag`; returns the manifest's descriptor for an index.
    pub fn add_image(
        &mut self,
        repo: &str,
        tag: Option<&str>,
        layers: Vec<(&str, Vec<u8>)>,
        config: serde_json::Value,
    ) -> serde_json::Value {
        let config = json!({
            "architecture": "amd64", "os": "linux", "config": config,
            "rootfs": {"type": "layers", "diff_ids": []},
        });
        let mut config_descriptor = self.add_blob(serde_json::to_vec(&config).unwrap());
        config_descriptor["mediaType"] = "application/vnd.oci.image.config.v1+json".into();
        let layers: Vec<serde_json::Value> = layers
            .into_iter()
            .map(|(media_type, bytes)| {
                let mut descriptor = self.add_blob(bytes);
                descriptor["mediaType"] = media_type.into();
                descriptor
            })
            .collect();
        let manifest = json!({
            "schemaVersion": 2, "mediaType": OCI_MANIFEST,
            "config": config_descriptor, "layers": layers,
        });
        let bytes = serde_json::to_vec(&manifest).unwrap();
        let digest = self.add_manifest(repo, tag, OCI_MANIFEST, &manifest);
        json!({"mediaType": OCI_MANIFEST, "digest": digest, "size": bytes.len()})
    }
}

pub struct Registry {
    pub port: u16,
    pub blob_requests: Arc<AtomicUsize>,
    /// The digest of a blob served with its last byte flipped.
    pub corrupt_blob: Arc<Mutex<Option<String>>>,
    server: tokio::task::JoinHandle<()>,
}

/// Who may read the registry.
#[derive(Clone, Copy)]
pub enum Access<'a> {
    Open,
    /// A `Bearer` challenge; the token endpoint wants these credentials.
    Token(&'a str, &'a str),
    /// A `Basic` challenge; every request carries these credentials.
    Basic(&'a str, &'a str),
}

struct Shared {
    contents: Contents,
    /// The expected `Authorization` header (none when open), and whether it comes from the
    /// token endpoint.
    credentials: Option<(String, String)>,
    token_flow: bool,
    port: u16,
    blob_requests: Arc<AtomicUsize>,
    corrupt_blob: Arc<Mutex<Option<String>>>,
}

impl Registry {
    /// Serves `contents` to whoever `access` lets in.
    pub async fn start(contents: Contents, access: Access<'_>) -> Registry {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let blob_requests = Arc::new(AtomicUsize::new(0));
        let corrupt_blob = Arc::new(Mutex::new(None));
        let shared = Arc::new(Shared {
            contents,
            credentials: match access {
                Access::Open => None,
                Access::Token(u, p) | Access::Basic(u, p) => Some((u.to_string(), p.to_string())),
            },
            token_flow: matches!(access, Access::Token(..)),
            port,
            blob_requests: blob_requests.clone(),
            corrupt_blob: corrupt_blob.clone(),
        });
        let app = Router::new()
            .route("/v2/", get(version))
            .route("/v2/{*path}", get(content))
            .route("/token", get(token))
            .with_state(shared);
        let server = tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        Registry {
            port,
            blob_requests,
            corrupt_blob,
            server,
        }
    }

    pub fn reference(&self, name: &str) -> String {
        format!("127.0.0.1:{}/{name}", self.port)
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        self.server.abort();
    }
}

fn unauthorized(shared: &Shared) -> Response {
    let challenge = if shared.token_flow {
        format!(
            "Bearer realm=\"http://127.0.0.1:{}/token\",service=\"test-registry\"",
            shared.port
        )
    } else {
        "Basic realm=\"test-registry\"".to_string()
    };
    let body = json!({"errors": [{"code": "UNAUTHORIZED", "message": "authentication required"}]});
    (
        StatusCode::UNAUTHORIZED,
        [(header::WWW_AUTHENTICATE, challenge)],
        axum::Json(body),
    )
        .into_response()
}

fn basic(user: &str, password: &str) -> String {
    let encoded = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
    format!("Basic {encoded}")
}

fn header_is(headers: &HeaderMap, expected: &str) -> bool {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        == Some(expected)
}

fn authorized(shared: &Shared, headers: &HeaderMap) -> bool {
    match &shared.credentials {
        None => true,
        Some(_) if shared.token_flow => header_is(headers, &format!("Bearer {TOKEN}")),
        Some((user, password)) => header_is(headers, &basic(user, password)),
    }
}

async fn version(State(shared): State<Arc<Shared>>, headers: HeaderMap) -> Response {
    if !authorized(&shared, &headers) {
        return unauthorized(&shared);
    }
    StatusCode::OK.into_response()
}

async fn token(State(shared): State<Arc<Shared>>, headers: HeaderMap) -> Response {
    let Some((user, password)) = shared.credentials.as_ref().filter(|_| shared.token_flow) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    if !header_is(&headers, &basic(user, password)) {
        return (StatusCode::UNAUTHORIZED, "bad credentials").into_response();
    }
    axum::Json(json!({"token": TOKEN})).into_response()
}

async fn content(
    State(shared): State<Arc<Shared>>,
    Path(path): Path<String>,
    headers: HeaderMap,
) -> Response {
    if !authorized(&shared, &headers) {
        return unauthorized(&shared);
    }
    let not_found = |code: &str| {
        let body = json!({"errors": [{"code": code, "message": path}]});
        (StatusCode::NOT_FOUND, axum::Json(body)).into_response()
    };
    if let Some((repo, reference)) = path.rsplit_once("/manifests/") {
        let key = if reference.starts_with("sha256:") {
            format!("{repo}@{reference}")
        } else {
            format!("{repo}:{reference}")
        };
        let Some((media_type, body)) = shared.contents.manifests.get(&key) else {
            return not_found("MANIFEST_UNKNOWN");
        };
        return (
            [
                (header::CONTENT_TYPE, media_type.clone()),
                (
                    header::HeaderName::from_static("docker-content-digest"),
                    sha256(body),
                ),
            ],
            body.clone(),
        )
            .into_response();
    }
    if let Some((_repo, digest)) = path.rsplit_once("/blobs/") {
        shared.blob_requests.fetch_add(1, Ordering::SeqCst);
        let Some(bytes) = shared.contents.blobs.get(digest) else {
            return not_found("BLOB_UNKNOWN");
        };
        let mut bytes = bytes.clone();
        if shared.corrupt_blob.lock().unwrap().as_deref() == Some(digest) {
            let last = bytes.len() - 1;
            bytes[last] ^= 0xff;
        }
        return ([(header::CONTENT_TYPE, "application/octet-stream")], bytes).into_response();
    }
    not_found("NAME_UNKNOWN")
}
