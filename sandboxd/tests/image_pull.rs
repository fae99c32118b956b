//! Pulls images from a registry the test serves on 127.0.0.1 (`image_registry`) through
//! `runtime::image`, and checks the result on the host: the layers overlaid by a real overlay
//! mount, the store's contents, and that hostile layers change nothing outside the store.
//! Also builds `debian:bookworm` locally with the registry unreachable. Needs root (chown,
//! whiteouts, trusted xattrs, overlay mounts), like sandboxd.

mod image_registry;

use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;

use image_registry::{Access, Contents, OCI_INDEX, Registry};
use sandboxd::runtime::image::{
    ImageConfig, ImageError, Limits, PullOptions, PulledImage, RegistryAuth, pull, pull_with,
};
use serde_json::json;
use tar::{EntryType, Header};

const GZIP_LAYER: &str = "application/vnd.oci.image.layer.v1.tar+gzip";
const ZSTD_LAYER: &str = "application/vnd.oci.image.layer.v1.tar+zstd";
const TAR_LAYER: &str = "application/vnd.oci.image.layer.v1.tar";

fn temp_dir(what: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "sbx-image-{what}-{}-{}",
        std::process::id(),
        sandboxd_random()
    ));
    fs::create_dir_all(&dir).unwrap();
    dir
}

fn sandboxd_random() -> u64 {
    use std::time::{SystemTime, UNIX_EPOCH};
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64
        % 1_000_000_007
}

/// One tar entry, written raw so that hostile names and sizes go in unchanged.
struct Entry<'a> {
    path: &'a str,
    kind: EntryType,
    mode: u32,
    owner: (u64, u64),
    data: &'a [u8],
    link: Option<&'a str>,
    claimed_size: Option<u64>,
}

fn entry(path: &str, kind: EntryType) -> Entry<'_> {
    Entry {
        path,
        kind,
        mode: if kind == EntryType::Directory {
            0o755
        } else {
            0o644
        },
        owner: (0, 0),
        data: b"",
        link: None,
        claimed_size: None,
    }
}

fn file<'a>(path: &'a str, data: &'a [u8]) -> Entry<'a> {
    Entry {
        data,
        ..entry(path, EntryType::Regular)
    }
}

/// A symlink or hardlink entry pointing at `target`.
fn link<'a>(path: &'a str, kind: EntryType, target: &'a str) -> Entry<'a> {
    Entry {
        link: Some(target),
        ..entry(path, kind)
    }
}

fn tar_of(entries: &[Entry]) -> Vec<u8> {
    let mut builder = tar::Builder::new(Vec::new());
    for e in entries {
        let mut header = Header::new_gnu();
        header.as_old_mut().name[..e.path.len()].copy_from_slice(e.path.as_bytes());
        if let Some(link) = e.link {
            header.as_old_mut().linkname[..link.len()].copy_from_slice(link.as_bytes());
        }
        header.set_entry_type(e.kind);
        header.set_mode(e.mode);
        header.set_uid(e.owner.0);
        header.set_gid(e.owner.1);
        header.set_mtime(1_700_000_000);
        header.set_size(e.claimed_size.unwrap_or(e.data.len() as u64));
        if matches!(e.kind, EntryType::Char | EntryType::Block) {
            header.set_device_major(1).unwrap();
            header.set_device_minor(1).unwrap();
        }
        header.set_cksum();
        builder.append(&header, e.data).unwrap();
    }
    builder.into_inner().unwrap()
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    encoder.write_all(bytes).unwrap();
    encoder.finish().unwrap()
}

fn zstd(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    ruzstd::encoding::compress(bytes, &mut out, ruzstd::encoding::CompressionLevel::Fastest);
    out
}

fn lower_layer() -> Vec<u8> {
    let tool = Entry {
        mode: 0o4755,
        ..file("usr/bin/tool", b"#!/bin/sh\n")
    };
    let home = Entry {
        owner: (1000, 1000),
        mode: 0o750,
        ..entry("home/user/", EntryType::Directory)
    };
    let symlink = link("etc/link", EntryType::Symlink, "/etc/app.conf");
    let hardlink = link("etc/hard", EntryType::Link, "./etc/app.conf");
    gzip(&tar_of(&[
        entry("./", EntryType::Directory),
        entry("etc/", EntryType::Directory),
        file("etc/app.conf", b"v1\n"),
        file("gone.txt", b"bye\n"),
        file("keep/a", b"a\n"),
        file("opaque/old", b"old\n"),
        tool,
        home,
        symlink,
        hardlink,
    ]))
}

/// Whites out `gone.txt`, makes `opaque/` opaque, replaces `etc/app.conf`.
fn upper_layer() -> Vec<u8> {
    zstd(&tar_of(&[
        entry(".wh.gone.txt", EntryType::Regular),
        entry("opaque/", EntryType::Directory),
        entry("opaque/.wh..wh..opq", EntryType::Regular),
        file("opaque/new", b"new\n"),
        file("etc/app.conf", b"v2\n"),
    ]))
}

fn app_config() -> serde_json::Value {
    json!({
        "Env": ["PATH=/usr/local/bin:/usr/bin:/bin", "GREETING=hello world"],
        "WorkingDir": "/srv/app",
        "User": "1000:1000",
        "Entrypoint": ["/usr/bin/tool"],
        "Cmd": ["--serve"],
    })
}

/// `app:v1`, an index whose linux/amd64 entry is the real image and whose linux/arm64 entry
/// points at an image with missing blobs (picking it fails the pull).
fn app_registry_contents() -> (Contents, String) {
    let mut contents = Contents::default();
    let amd64 = contents.add_image(
        "app",
        None,
        vec![(GZIP_LAYER, lower_layer()), (ZSTD_LAYER, upper_layer())],
        app_config(),
    );
    let mut arm64 = contents.add_image("app", None, vec![], json!({}));
    arm64["platform"] = json!({"os": "linux", "architecture": "arm64"});
    let mut amd64_entry = amd64.clone();
    amd64_entry["platform"] = json!({"os": "linux", "architecture": "amd64"});
    let index = json!({
        "schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": [arm64, amd64_entry],
    });
    contents.add_manifest("app", Some("v1"), OCI_INDEX, &index);
    let top_layer = image_registry::sha256(&upper_layer());
    (contents, top_layer)
}

/// Mounts `layers` (lowest first) as one overlay and returns the mount point.
struct Overlay {
    dir: PathBuf,
}

impl Overlay {
    fn mount(layers: &[PathBuf]) -> Overlay {
        let dir = temp_dir("overlay");
        for sub in ["upper", "work", "merged"] {
            fs::create_dir(dir.join(sub)).unwrap();
        }
        let lowers: Vec<String> = layers
            .iter()
            .rev()
            .map(|l| l.display().to_string())
            .collect();
        let options = format!(
            "lowerdir={},upperdir={},workdir={}",
            lowers.join(":"),
            dir.join("upper").display(),
            dir.join("work").display()
        );
        nix::mount::mount(
            Some("overlay"),
            &dir.join("merged"),
            Some("overlay"),
            nix::mount::MsFlags::empty(),
            Some(options.as_str()),
        )
        .expect("overlay mount");
        Overlay { dir }
    }

    fn root(&self) -> PathBuf {
        self.dir.join("merged")
    }
}

impl Drop for Overlay {
    fn drop(&mut self) {
        let _ = nix::mount::umount(&self.dir.join("merged"));
        let _ = fs::remove_dir_all(&self.dir);
    }
}

/// Every path below `root`, relative and sorted.
fn tree(root: &Path) -> Vec<String> {
    fn walk(root: &Path, dir: &Path, out: &mut Vec<String>) {
        for entry in fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            out.push(path.strip_prefix(root).unwrap().display().to_string());
            if path.symlink_metadata().unwrap().is_dir() {
                walk(root, &path, out);
            }
        }
    }
    let mut out = Vec::new();
    walk(root, root, &mut out);
    out.sort();
    out
}

fn assert_store_has_no_partial_layer(store: &Path) {
    assert_eq!(
        tree(&store.join("tmp")),
        Vec::<String>::new(),
        "scratch left"
    );
}

/// Pulls `app:v1` anonymously into `store`.
async fn pull_app(registry: &Registry, store: &Path) -> Result<PulledImage, ImageError> {
    pull_app_with(registry, store, RegistryAuth::Anonymous).await
}

async fn pull_app_with(
    registry: &Registry,
    store: &Path,
    auth: RegistryAuth,
) -> Result<PulledImage, ImageError> {
    pull(&registry.reference("app:v1"), auth, store).await
}

#[tokio::test]
async fn pulls_an_index_overlays_exactly_and_a_second_pull_downloads_nothing() {
    let (contents, _) = app_registry_contents();
    let registry = Registry::start(contents, Access::Open).await;
    let store = temp_dir("store");

    let image = pull_app(&registry, &store).await.expect("pull");
    assert_eq!(image.layers.len(), 2);
    for layer in &image.layers {
        assert!(layer.starts_with(store.join("layers/sha256")), "{layer:?}");
    }
    assert_eq!(
        image.config,
        ImageConfig {
            env: vec![
                "PATH=/usr/local/bin:/usr/bin:/bin".into(),
                "GREETING=hello world".into()
            ],
            workdir: "/srv/app".into(),
            user: "1000:1000".into(),
            entrypoint: vec!["/usr/bin/tool".into()],
            cmd: vec!["--serve".into()],
        }
    );
    // config + two layers; the arm64 image's blobs were never asked for.
    assert_eq!(registry.blob_requests.load(Ordering::SeqCst), 3);

    let overlay = Overlay::mount(&image.layers);
    let root = overlay.root();
    assert_eq!(
        tree(&root),
        [
            "etc",
            "etc/app.conf",
            "etc/hard",
            "etc/link",
            "home",
            "home/user",
            "keep",
            "keep/a",
            "opaque",
            "opaque/new",
            "usr",
            "usr/bin",
            "usr/bin/tool"
        ]
    );
    assert_eq!(
        fs::read_to_string(root.join("etc/app.conf")).unwrap(),
        "v2\n"
    );
    assert_eq!(fs::read_to_string(root.join("etc/hard")).unwrap(), "v1\n");
    assert_eq!(
        fs::read_link(root.join("etc/link")).unwrap(),
        Path::new("/etc/app.conf")
    );
    let tool = fs::metadata(root.join("usr/bin/tool")).unwrap();
    assert_eq!(
        (tool.mode() & 0o7777, tool.uid()),
        (0o4755, 0),
        "setuid kept"
    );
    let home = fs::metadata(root.join("home/user")).unwrap();
    assert_eq!(
        (home.uid(), home.gid(), home.mode() & 0o7777),
        (1000, 1000, 0o750)
    );
    // On disk the upper layer holds the overlay's own whiteout and opaque marks.
    let top = &image.layers[1];
    let whiteout = fs::symlink_metadata(top.join("gone.txt")).unwrap();
    assert_eq!(
        (whiteout.mode() & libc::S_IFMT, whiteout.rdev()),
        (libc::S_IFCHR, 0)
    );
    let opaque = xattr(&top.join("opaque"), "trusted.overlay.opaque");
    assert_eq!(opaque.as_deref(), Some(&b"y"[..]));
    // The store is root's alone: its layers hold setuid files owned by host root.
    assert_eq!(fs::metadata(&store).unwrap().mode() & 0o777, 0o700);
    drop(overlay);

    let again = pull_app(&registry, &store).await.expect("second pull");
    assert_eq!(again, image);
    assert_eq!(
        registry.blob_requests.load(Ordering::SeqCst),
        3,
        "no blob downloaded again"
    );
    // By digest, the same image.
    let by_digest = format!(
        "{}@{}",
        registry.reference("app"),
        image.digest.clone().unwrap()
    );
    let pinned = pull(&by_digest, RegistryAuth::Anonymous, &store)
        .await
        .unwrap();
    assert_eq!(pinned.layers, image.layers);
    assert_store_has_no_partial_layer(&store);
    fs::remove_dir_all(&store).unwrap();
}

#[tokio::test]
async fn concurrent_pulls_of_one_image_share_the_store() {
    let (contents, _) = app_registry_contents();
    let registry = Registry::start(contents, Access::Open).await;
    let store = temp_dir("store");
    let (a, b) = tokio::join!(pull_app(&registry, &store), pull_app(&registry, &store));
    let (a, b) = (a.expect("first pull"), b.expect("second pull"));
    assert_eq!(a, b);
    assert_eq!(
        fs::read_dir(store.join("layers/sha256")).unwrap().count(),
        2
    );
    let overlay = Overlay::mount(&a.layers);
    assert_eq!(
        fs::read_to_string(overlay.root().join("etc/app.conf")).unwrap(),
        "v2\n"
    );
    drop(overlay);
    assert_store_has_no_partial_layer(&store);
    fs::remove_dir_all(&store).unwrap();
}

/// `sandboxd image pull` prints what `pull` returns; its password comes from the environment.
#[tokio::test]
async fn the_image_pull_subcommand_prints_the_layers() {
    let (contents, _) = app_registry_contents();
    let registry = Registry::start(contents, Access::Token("alice", "s3cret")).await;
    let store = temp_dir("store");
    let run = |password: &str| {
        let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_sandboxd"));
        command
            .args([
                "image",
                "pull",
                &registry.reference("app:v1"),
                "--username",
                "alice",
            ])
            .arg("--store")
            .arg(&store)
            .env("SANDBOXD_REGISTRY_PASSWORD", password);
        command.output()
    };
    let refused = run("wrong").await.unwrap();
    assert!(!refused.status.success());
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(
        stderr.contains("registry authentication failed"),
        "{stderr}"
    );
    let output = run("s3cret").await.unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let printed: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let cached = pull_app_with(&registry, &store, alice()).await.unwrap();
    assert_eq!(printed, serde_json::to_value(&cached).unwrap());
    assert_eq!(printed["config"]["workdir"], "/srv/app");
    assert_eq!(
        registry.blob_requests.load(Ordering::SeqCst),
        3,
        "the second pull reused all"
    );
    fs::remove_dir_all(&store).unwrap();
}

fn alice() -> RegistryAuth {
    RegistryAuth::Basic {
        username: "alice".into(),
        password: "s3cret".into(),
    }
}

/// Username and password work against a `Bearer` challenge (exchanged at the token endpoint)
/// and a `Basic` one; wrong or missing ones are an authentication error that stores nothing.
#[tokio::test]
async fn credentials_work_with_bearer_tokens_and_basic_auth() {
    for access in [
        Access::Token("alice", "s3cret"),
        Access::Basic("alice", "s3cret"),
    ] {
        let (contents, _) = app_registry_contents();
        let registry = Registry::start(contents, access).await;
        let store = temp_dir("store");
        let wrong = RegistryAuth::Basic {
            username: "alice".into(),
            password: "wrong".into(),
        };
        for auth in [RegistryAuth::Anonymous, wrong] {
            let err = pull_app_with(&registry, &store, auth).await.unwrap_err();
            assert!(matches!(err, ImageError::Auth(_)), "{err}");
        }
        assert_eq!(registry.blob_requests.load(Ordering::SeqCst), 0);
        assert_eq!(tree(&store.join("layers/sha256")), Vec::<String>::new());

        let sdk = json!({"type": "registry", "username": "alice", "password": "s3cret"});
        let auth = RegistryAuth::from_sdk(&sdk).unwrap();
        let image = pull_app_with(&registry, &store, auth)
            .await
            .expect("pull with credentials");
        assert_eq!(image.layers.len(), 2);
        fs::remove_dir_all(&store).unwrap();
    }
}

#[tokio::test]
async fn a_corrupted_blob_fails_and_leaves_nothing_of_it() {
    let (contents, top_layer) = app_registry_contents();
    let registry = Registry::start(contents, Access::Open).await;
    *registry.corrupt_blob.lock().unwrap() = Some(top_layer.clone());
    let store = temp_dir("store");
    let err = pull_app(&registry, &store).await.unwrap_err();
    assert!(matches!(err, ImageError::Digest(_)), "{err}");
    let hex = top_layer.strip_prefix("sha256:").unwrap();
    assert!(!store.join("layers/sha256").join(hex).exists());
    assert_store_has_no_partial_layer(&store);
    fs::remove_dir_all(&store).unwrap();
}

fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

#[tokio::test]
async fn an_unreachable_registry_is_its_own_class() {
    let store = temp_dir("store");
    let port = closed_port();
    let err = pull(
        &format!("127.0.0.1:{port}/app:v1"),
        RegistryAuth::Anonymous,
        &store,
    )
    .await
    .unwrap_err();
    assert!(matches!(err, ImageError::Unreachable(_)), "{err}");
    // Ubuntu has no local build here: the error says so, and what was tried.
    let options = PullOptions {
        docker_hub_mirror: Some(format!("127.0.0.1:{port}")),
        ..PullOptions::default()
    };
    let err = pull_with("ubuntu:24.04", RegistryAuth::Anonymous, &store, &options)
        .await
        .unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, ImageError::Unreachable(_)), "{text}");
    assert!(
        text.contains(&format!("127.0.0.1:{port}")) && text.contains("Ubuntu"),
        "{text}"
    );
    fs::remove_dir_all(&store).unwrap();
}

/// Serves one image made of `layer` and pulls it into a new store with `limits`.
async fn pull_single_layer(layer: Vec<u8>, limits: Limits) -> (Result<(), ImageError>, PathBuf) {
    let mut contents = Contents::default();
    contents.add_image("evil", Some("latest"), vec![(TAR_LAYER, layer)], json!({}));
    let registry = Registry::start(contents, Access::Open).await;
    let store = temp_dir("store");
    let options = PullOptions {
        limits,
        ..PullOptions::default()
    };
    let result = pull_with(
        &registry.reference("evil:latest"),
        RegistryAuth::Anonymous,
        &store,
        &options,
    )
    .await
    .map(drop);
    (result, store)
}

/// The one layer a single-layer pull put in `store`.
fn only_layer(store: &Path) -> PathBuf {
    let mut layers = fs::read_dir(store.join("layers/sha256")).unwrap();
    let layer = layers.next().expect("a layer").unwrap().path();
    assert!(layers.next().is_none());
    layer
}

fn xattr(path: &Path, name: &str) -> Option<Vec<u8>> {
    let path = std::ffi::CString::new(path.as_os_str().as_encoded_bytes()).unwrap();
    let name = std::ffi::CString::new(name).unwrap();
    let mut buf = [0u8; 64];
    // SAFETY: lgetxattr into a buffer of the given length.
    let n = unsafe { libc::lgetxattr(path.as_ptr(), name.as_ptr(), buf.as_mut_ptr().cast(), 64) };
    (n >= 0).then(|| buf[..n as usize].to_vec())
}

#[tokio::test]
async fn hostile_layers_change_nothing_outside_the_store() {
    let bait = temp_dir("bait");
    let tag = bait.file_name().unwrap().to_string_lossy().into_owned();
    let shadow_before = fs::symlink_metadata("/etc/shadow").unwrap();
    let shadow_text = fs::read("/etc/shadow").unwrap();
    let climb = format!("../../../../../../../../../../tmp/{tag}-climbed");
    let absolute = format!("/tmp/{tag}-absolute");
    let through_link = link("a", EntryType::Symlink, bait.to_str().unwrap());
    let hardlink = link("shadow", EntryType::Link, "/etc/shadow");
    let relative_hardlink = link(
        "shadow",
        EntryType::Link,
        "../../../../../../../../etc/shadow",
    );
    let huge = Entry {
        claimed_size: Some(10 << 30),
        ..file("huge", b"")
    };
    // (what, layer, whether the error is of the expected class)
    type IsExpected = fn(&ImageError) -> bool;
    let cases: Vec<(&str, Vec<u8>, IsExpected)> = vec![
        ("climb", tar_of(&[file(&climb, b"pwned")]), |e| {
            matches!(e, ImageError::UnsafeLayer(_))
        }),
        ("absolute", tar_of(&[file(&absolute, b"pwned")]), |e| {
            matches!(e, ImageError::UnsafeLayer(_))
        }),
        (
            "through a symlink",
            tar_of(&[through_link, file("a/pwned", b"pwned")]),
            |e| matches!(e, ImageError::UnsafeLayer(_)),
        ),
        ("hardlink to /etc/shadow", tar_of(&[hardlink]), |e| {
            matches!(e, ImageError::UnsafeLayer(_))
        }),
        (
            "hardlink climbing to /etc/shadow",
            tar_of(&[relative_hardlink]),
            |e| matches!(e, ImageError::UnsafeLayer(_)),
        ),
        ("10 GiB claimed", tar_of(&[huge]), |e| {
            matches!(e, ImageError::Limit(_))
        }),
    ];
    for (name, layer, expected) in cases {
        let (result, store) = pull_single_layer(layer, Limits::default()).await;
        let err = result.expect_err(name);
        assert!(expected(&err), "{name}: {err}");
        assert!(
            fs::read_dir(store.join("layers/sha256"))
                .unwrap()
                .next()
                .is_none(),
            "{name}"
        );
        assert_store_has_no_partial_layer(&store);
        fs::remove_dir_all(&store).unwrap();
    }
    // Nothing landed on the host.
    assert_eq!(tree(&bait), Vec::<String>::new());
    for leftover in [format!("/tmp/{tag}-climbed"), absolute.clone()] {
        assert!(fs::symlink_metadata(&leftover).is_err(), "{leftover}");
    }
    let shadow_after = fs::symlink_metadata("/etc/shadow").unwrap();
    assert_eq!(
        (
            shadow_after.nlink(),
            shadow_after.mode(),
            shadow_after.ino()
        ),
        (
            shadow_before.nlink(),
            shadow_before.mode(),
            shadow_before.ino()
        )
    );
    assert_eq!(fs::read("/etc/shadow").unwrap(), shadow_text);
    fs::remove_dir_all(&bait).unwrap();
}

/// A later entry at the path of a symlink replaces the symlink; it never writes through it.
#[tokio::test]
async fn entries_replace_symlinks_instead_of_following_them() {
    let bait = temp_dir("bait");
    fs::write(bait.join("target"), "host file\n").unwrap();
    let target = bait.join("target");
    let layer = tar_of(&[
        link("file", EntryType::Symlink, target.to_str().unwrap()),
        file("file", b"pwned"),
        link("dir", EntryType::Symlink, bait.to_str().unwrap()),
        entry("dir/", EntryType::Directory),
        file("dir/inside", b"layer"),
    ]);
    let (result, store) = pull_single_layer(layer, Limits::default()).await;
    result.expect("pull");
    let layer = only_layer(&store);
    assert_eq!(fs::read_to_string(layer.join("file")).unwrap(), "pwned");
    assert!(fs::symlink_metadata(layer.join("dir")).unwrap().is_dir());
    assert_eq!(tree(&bait), ["target"]);
    assert_eq!(fs::read_to_string(&target).unwrap(), "host file\n");
    fs::remove_dir_all(&store).unwrap();
    fs::remove_dir_all(&bait).unwrap();
}

#[tokio::test]
async fn device_nodes_are_skipped_and_limits_are_configurable() {
    let device = Entry {
        mode: 0o666,
        ..entry("dev/mem", EntryType::Char)
    };
    let disk = entry("dev/sda", EntryType::Block);
    let (result, store) = pull_single_layer(
        tar_of(&[device, disk, file("dev/ok", b"ok")]),
        Limits::default(),
    )
    .await;
    result.expect("a layer with device nodes pulls");
    let layer = only_layer(&store);
    assert_eq!(tree(&layer), ["dev", "dev/ok"]);
    fs::remove_dir_all(&store).unwrap();

    let few = Limits {
        max_entries: 2,
        ..Limits::default()
    };
    let (result, store) = pull_single_layer(
        tar_of(&[file("a", b"1"), file("b", b"2"), file("c", b"3")]),
        few,
    )
    .await;
    let err = result.unwrap_err();
    assert!(matches!(err, ImageError::Limit(_)), "{err}");
    assert!(err.to_string().contains("more than 2 entries"), "{err}");
    assert_store_has_no_partial_layer(&store);
    let small = Limits {
        max_unpacked_bytes: 4,
        ..Limits::default()
    };
    let (result, store2) = pull_single_layer(tar_of(&[file("a", b"12345")]), small).await;
    assert!(matches!(result, Err(ImageError::Limit(_))));
    for store in [store, store2] {
        fs::remove_dir_all(&store).unwrap();
    }
}

/// With Docker Hub unreachable, `debian:bookworm` is built by mmdebstrap from the host's apt
/// sources. The store lives in the target dir, so only the first run builds (about a minute
/// and a half); later runs find the layer and take milliseconds.
#[tokio::test]
async fn debian_is_built_locally_when_no_registry_answers() {
    let store = Path::new(env!("CARGO_TARGET_TMPDIR")).join("image-store-debian");
    let options = PullOptions {
        docker_hub_mirror: Some(format!("127.0.0.1:{}", closed_port())),
        ..PullOptions::default()
    };
    let started = std::time::Instant::now();
    let image = pull_with("debian:bookworm", RegistryAuth::Anonymous, &store, &options)
        .await
        .expect("local debian build");
    eprintln!(
        "debian:bookworm without a registry took {:.1} s",
        started.elapsed().as_secs_f64()
    );
    assert_eq!(image.digest, None);
    assert_eq!(image.layers.len(), 1);
    let root = &image.layers[0];
    assert!(root.starts_with(store.join("layers/local")), "{root:?}");
    let version = fs::read_to_string(root.join("etc/debian_version")).unwrap();
    assert!(version.starts_with("12."), "{version}");
    assert!(root.join("usr/bin/apt-get").exists());
    assert_store_has_no_partial_layer(&store);
}
